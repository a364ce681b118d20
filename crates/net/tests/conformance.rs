//! docs/conformance.md against the presentation-context tables the server negotiates with
//! (`ContextTable::standard`: data/presentation-contexts.tsv and data/service-contexts.tsv):
//! every abstract syntax with exactly its transfer syntaxes, in both, and nothing more.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use dcmdisc_net::ContextTable;

const STATEMENT: &str = include_str!("../../../docs/conformance.md");

/// The statement's abbreviations (its section 3) for the transfer syntaxes.
fn transfer_syntax(abbreviation: &str) -> &'static str {
    match abbreviation {
        "ELE" => "1.2.840.10008.1.2.1",
        "ILE" => "1.2.840.10008.1.2",
        "JPLL" => "1.2.840.10008.1.2.4.70",
        "RLE" => "1.2.840.10008.1.2.5",
        "JPB" => "1.2.840.10008.1.2.4.50",
        "JPE" => "1.2.840.10008.1.2.4.51",
        other => panic!("the statement names an unknown transfer syntax {other:?}"),
    }
}

/// The rows of the SOP class table: UID -> (name, sorted transfer syntaxes).
fn statement_table() -> BTreeMap<String, (String, Vec<String>)> {
    let begin = STATEMENT
        .find("<!-- sop-classes:begin -->")
        .expect("the table's begin marker");
    let end = STATEMENT
        .find("<!-- sop-classes:end -->")
        .expect("the table's end marker");
    let mut rows = BTreeMap::new();
    for line in STATEMENT[begin..end].lines().skip(3) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [name, uid, syntaxes, role] = cells[..] else {
            panic!("not a row of four cells: {line}");
        };
        assert_eq!(role, "SCP", "{line}");
        let uid = uid.trim_matches('`').to_string();
        let mut ts: Vec<String> = syntaxes
            .split_whitespace()
            .map(|a| transfer_syntax(a).to_string())
            .collect();
        ts.sort();
        assert!(
            rows.insert(uid.clone(), (name.to_string(), ts)).is_none(),
            "{uid} twice in the statement"
        );
    }
    rows
}

#[test]
fn the_statement_lists_exactly_the_negotiated_contexts() {
    let table = ContextTable::standard().unwrap();
    let mut negotiated = BTreeMap::new();
    for (uid, ts) in table.abstract_syntaxes() {
        let mut ts = ts.to_vec();
        ts.sort();
        negotiated.insert(uid.to_string(), ts);
    }
    let statement = statement_table();
    for (uid, ts) in &negotiated {
        let Some((name, stated)) = statement.get(uid) else {
            panic!("{uid} is negotiated but not in docs/conformance.md");
        };
        assert_eq!(stated, ts, "{uid} ({name}): transfer syntaxes");
        assert_eq!(Some(name.as_str()), table.name(uid), "{uid}: name");
    }
    for uid in statement.keys() {
        assert!(
            negotiated.contains_key(uid),
            "{uid} is in docs/conformance.md but not negotiated"
        );
    }
    // The overview's counts: Verification, 68 storage classes, the two services.
    let storage = statement.keys().filter(|u| table.is_storage(u)).count();
    assert_eq!(storage, 68);
    assert!(STATEMENT.contains("The 68 storage SOP classes"));
}
