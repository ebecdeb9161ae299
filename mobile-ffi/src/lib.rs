//! kefu-mobile (being built).
