//! Archive (placeholder).
