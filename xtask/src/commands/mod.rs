//! One module per subcommand.

pub mod ai_showcase;
pub mod bench;
pub mod containerize;
pub mod demo;
pub mod deploy;
pub mod doctor;
pub mod down;
pub mod helm_gen;
pub mod logs;
pub mod minikube;
pub mod polish;
pub mod secrets;
pub mod status;
pub mod test;
pub mod up;
pub mod verify;
