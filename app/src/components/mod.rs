//! Building blocks shared by pages.

pub mod copy;
pub mod field;
pub mod links;
pub mod modal;
pub mod row_forms;

use leptos::prelude::*;

/// Whether the WebAssembly runs this page: `false` on the server and while hydrating (so the
/// hydrated page matches the server's), `true` once it has started. A page without scripts, or
/// one that answers a plain form post (never hydrated), keeps `false`: what needs scripts
/// (a passkey, the clipboard) says so there instead of doing nothing. (No `<noscript>`: its
/// content is text to a browser with scripts, which hydration cannot match.)
pub fn scripts_running() -> ReadSignal<bool> {
    let (running, set_running) = signal(false);
    Effect::new(move |_| set_running.set(true));
    running
}
