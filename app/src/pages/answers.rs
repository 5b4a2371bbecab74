//! Keys for resources that a page's changes make stale. A list is read again when a change
//! it depends on has answered (the idiom of Leptos' examples: a `Resource` keyed on the
//! actions' versions), counting only the answers that change something, so a refusal does
//! not read the list again and a dialog that forgets its answer does not either.

use leptos::prelude::*;

/// How many answers of `action` that `counts` accepts have come so far (as the action's
/// version when the last one came): a resource keyed on it reads again after each of them.
pub fn answers<I, O>(action: impl Into<Action<I, O>>, counts: fn(&O) -> bool) -> Memo<usize>
where
    I: Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    let action = action.into();
    let (version, value) = (action.version(), action.value());
    Memo::new(move |previous: Option<&usize>| {
        let counted = value.with(|answer| answer.as_ref().is_some_and(counts));
        let version = version.get();
        if counted {
            version
        } else {
            previous.copied().unwrap_or(0)
        }
    })
}

/// How many times `action` has succeeded: [`answers`] that are `Ok`.
pub fn successes<I, O, E>(action: impl Into<Action<I, Result<O, E>>>) -> Memo<usize>
where
    I: Send + Sync + 'static,
    O: Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    answers(action, Result::is_ok)
}

/// What the last call of `action` was about (`about` of its input), kept after the answer came:
/// Leptos clears an action's input once it has answered, so rows sharing one action (one
/// "Rename" per authenticator app) could not tell whose refusal it is. `None` until the
/// first call on this page (a plain form post's refusal comes back with no input).
pub fn last_call<I, O, T>(action: impl Into<Action<I, O>>, about: fn(&I) -> T) -> Memo<Option<T>>
where
    I: Send + Sync + 'static,
    O: Send + Sync + 'static,
    T: Clone + PartialEq + Send + Sync + 'static,
{
    let input = action.into().input();
    Memo::new(move |previous: Option<&Option<T>>| {
        input
            .with(|input| input.as_ref().map(about))
            .or_else(|| previous.cloned().flatten())
    })
}
