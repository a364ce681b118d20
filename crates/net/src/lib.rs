//! Net (placeholder).
