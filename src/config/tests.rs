//! The defaults that depend on the machine and the mode.

use super::*;

fn config(args: &[&str]) -> Config {
    let cli = Cli::try_parse_from(std::iter::once("ledgerflow").chain(args.iter().copied()))
        .expect("the arguments parse");
    cli.config
}

#[test]
fn embedded_the_workers_leave_the_batch_writer_a_core() {
    let embedded = config(&[]);
    assert_eq!(embedded.workers(2), 1);
    assert_eq!(embedded.workers(8), 7);
    assert_eq!(embedded.workers(1), 1);
}

#[test]
fn with_a_read_model_of_its_own_every_core_works_unless_told() {
    let separate = config(&["--read-model-url", "postgres://localhost/read"]);
    assert_eq!(separate.workers(2), 2);
    assert_eq!(config(&["--workers", "3"]).workers(2), 3);
    assert!(Cli::try_parse_from(["ledgerflow", "--workers", "0"]).is_err());
}
