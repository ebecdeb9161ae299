//! kefu-client (being built).
