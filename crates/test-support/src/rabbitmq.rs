//! The local RabbitMQ broker, as the tests that use it see it.

use std::process::Command;

/// Runs `rabbitmqctl --quiet ARGS` and returns its standard output; panics, with its standard
/// error, if it fails.
pub fn rabbitmqctl(args: &[&str]) -> String {
    let output = Command::new("rabbitmqctl")
        .arg("--quiet")
        .args(args)
        .output()
        .expect("rabbitmqctl runs");
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
