//! Building blocks shared by pages.

pub mod copy;
pub mod field;
pub mod links;
pub mod modal;
pub mod row_forms;
