//! The coordinator: one job per process instance, driven by one event loop.
