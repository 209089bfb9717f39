//! One module per subcommand.

pub mod containerize;
pub mod doctor;
pub mod test;
pub mod up;
