//! Building blocks shared by pages.

pub mod copy;
pub mod field;
pub mod intent_form;
pub mod modal;
