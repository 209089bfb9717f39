//! One module per subcommand.

pub mod containerize;
pub mod doctor;
pub mod helm_gen;
pub mod secrets;
pub mod test;
pub mod up;
