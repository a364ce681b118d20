//! Which request needs which right: one table for the API and the pages alike (a page path is
//! the API path without `/api`, so the page that cancels a job needs what the API call does).
//! Paths not in the table: a read (`GET`, `HEAD`) needs a logged-in user, anything else needs
//! an admin — a route added without a row here fails closed.

use axum::http::Method;
use dcmdisc_app::users::Role;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the login form, static assets.
    Public,
    /// Any logged-in user (or a `[web] metrics_token`, for `/metrics` only).
    User,
    /// At least this role.
    Role(Role),
}

fn is_read(m: &Method) -> bool {
    m == Method::GET || m == Method::HEAD
}

/// Whether a request changes state (and so needs a CSRF token with a cookie session, and
/// lands in the audit log).
pub fn changes_state(m: &Method) -> bool {
    !(is_read(m) || m == Method::OPTIONS)
}

/// The table. `path` is the request path, without the query.
pub fn required(method: &Method, path: &str) -> Access {
    use Access::{Public, User};
    use Role::{Admin, Operator};
    // The pages' script, style sheet and icon (`pages/assets.rs`) hold no data.
    if path == "/login"
        || path.starts_with("/assets/")
        || path.starts_with("/static/")
        || path == "/favicon.ico"
    {
        return Public;
    }
    if path == "/logout" {
        return User;
    }
    let rest = path
        .strip_prefix("/api")
        .filter(|r| r.is_empty() || r.starts_with('/'));
    let p: Vec<&str> = rest
        .unwrap_or(path)
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let read = is_read(method);
    match p.as_slice() {
        // Who did what: admins only, reading too.
        ["audit", ..] | ["users", ..] | ["config", ..] => Access::Role(Admin),
        // Remote AEs and retention: anyone reads, admins change.
        ["remotes", ..] | ["retention", ..] | ["patients", _, "pin" | "unpin"] if !read => {
            Access::Role(Admin)
        }
        // Discs: make, cancel, retry, reprioritise, another copy.
        ["jobs"] | ["jobs", _, "cancel" | "retry" | "priority" | "copy"] if !read => {
            Access::Role(Operator)
        }
        ["burners", _, "pause" | "resume"] if !read => Access::Role(Operator),
        _ if read => User,
        _ => Access::Role(Admin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let (get, post, delete) = (Method::GET, Method::POST, Method::DELETE);
        let op = Access::Role(Role::Operator);
        let admin = Access::Role(Role::Admin);
        for (m, path, want) in [
            (&get, "/login", Access::Public),
            (&post, "/login", Access::Public),
            (&get, "/assets/app.js", Access::Public),
            (&post, "/logout", Access::User),
            (&get, "/", Access::User),
            (&get, "/metrics", Access::User),
            (&get, "/api/jobs", Access::User),
            (&get, "/api/jobs/3", Access::User),
            (&get, "/api/events", Access::User),
            (&get, "/api/session", Access::User),
            (&get, "/api/log", Access::User),
            (&get, "/api/remotes", Access::User),
            (&post, "/api/jobs", op),
            (&post, "/api/jobs/3/cancel", op),
            (&post, "/api/jobs/3/retry", op),
            (&post, "/api/jobs/3/priority", op),
            (&post, "/api/jobs/3/copy", op),
            (&post, "/api/burners/sim/pause", op),
            (&post, "/api/burners/sim/resume", op),
            (&post, "/jobs/3/cancel", op),
            (&get, "/api/audit", admin),
            (&get, "/api/users", admin),
            (&get, "/users", admin),
            (&get, "/api/config", admin),
            (&post, "/api/remotes", admin),
            (&delete, "/api/remotes/CT1", admin),
            (&post, "/api/retention", admin),
            (&post, "/api/patients/4/pin", admin),
            (&post, "/api/users", admin),
            // Not in the table: a change needs an admin.
            (&post, "/api/something-new", admin),
            (&delete, "/api/jobs/3", admin),
            (&post, "/apix/jobs", admin),
        ] {
            assert_eq!(required(m, path), want, "{m} {path}");
        }
    }
}
