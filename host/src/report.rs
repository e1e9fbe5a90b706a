//! The result document shared by every command.
