//! Interrupts while a tool is blocked or busy outside its worker pool: SIGINT and SIGTERM
//! must end the run within a fraction of a second plus the watchdog's grace, with the
//! tool's documented interrupt status (punzip 80, as Info-ZIP; phash 130).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{punzip, tempdir};

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: c is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Sends `signal` to `child` after it has had time to block, and returns its exit status
/// and how long it took to exit after the signal. Kills it after 10 s so a failing test
/// cannot hang the suite.
fn signal_and_wait(mut child: Child, signal: libc::c_int) -> (Option<i32>, Duration) {
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let sent = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), sent.elapsed());
        }
        if sent.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return (None, sent.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start")
}

#[test]
fn punzip_blocked_opening_a_fifo_exits_80_on_sigint_and_sigterm() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let d = tempdir();
        let fifo = d.path().join("archive.zip");
        mkfifo(&fifo);
        for mode in ["-l", "-t"] {
            let child = spawn(punzip().arg(mode).arg(&fifo).current_dir(d.path()));
            let (code, took) = signal_and_wait(child, signal);
            assert_eq!(code, Some(80), "punzip {mode} on a FIFO, signal {signal}");
            assert!(took < Duration::from_secs(5), "took {took:?}");
        }
    }
}
