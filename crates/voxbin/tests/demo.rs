//! `voxbin demo` end to end: the command starts its own platform, calls the IVR from its
//! built-in phone, and reports the digit the flow collected and where the recording is.

use std::process::Command;

fn demo(digit: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_voxbin"))
        .args(["demo", "--digit", digit, "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("voxbin demo runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn demo_call_reports_the_digit_pressed_and_the_recording() {
    let (ok, stdout, stderr) = demo("2");
    assert!(
        ok,
        "voxbin demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("pressed 2"), "{stdout}");
    assert!(
        stdout.contains("Digits: 2 (voipbin.call.digits; branch taken: support)"),
        "{stdout}"
    );
    assert!(stdout.contains("status: \"hangup\""), "{stdout}");
    assert!(stdout.contains("call_hangup"), "{stdout}");
    assert!(stdout.contains("Recording "), "{stdout}");
    assert!(stdout.contains("/v1.0/recordingfiles/"), "{stdout}");
    assert!(
        stdout.contains(".wav"),
        "the recording's file is shown: {stdout}"
    );
}

#[test]
fn demo_refuses_a_digit_outside_the_menu() {
    let out = Command::new(env!("CARGO_BIN_EXE_voxbin"))
        .args(["demo", "--digit", "7"])
        .output()
        .expect("voxbin demo runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--digit"));
}
