//! Latchkey's user interface: routes, pages, the types shared by browser and server, and the
//! `#[server]` functions. Built twice: with `ssr` (linked into the `server` binary, where server
//! functions run against a [`backend::Backend`]) and with `hydrate` (the WebAssembly that makes
//! the server-rendered pages interactive). The `hydrate` build must stay small: no database,
//! hashing or date crates here.

#![recursion_limit = "256"]

pub mod account;
pub mod app;
pub mod app_passwords;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod error;
pub mod pages;
pub mod secret;
pub mod setup;

pub use app::{App, shell};

/// Entry point of the WebAssembly build: sets up the reactive runtime for the islands, which
/// the loader (`loader.js`) then hydrates one by one through their exported functions.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
