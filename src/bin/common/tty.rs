//! Asking the user at the terminal for a secret, as unzip asks for a password: on
//! `/dev/tty`, with echo off, restored however the prompt ends. Without it, encrypted
//! archives pushed users to put the password on the command line, where `ps` shows it.
//! Only when standard input is a terminal too, so that scripts, pipes and tests never
//! wait on a prompt nobody sees.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsRawFd;

/// Puts the terminal's settings back when dropped.
struct Restore<'a> {
    tty: &'a File,
    saved: libc::termios,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        // SAFETY: settings read from this same descriptor by tcgetattr.
        unsafe { libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.saved) };
    }
}

/// Writes `prompt` on the terminal and reads one line with echo off. `Ok(None)` when there
/// is no terminal to ask (standard input is not one, or there is no controlling
/// terminal); `Err(Interrupted)` when an interrupt arrives while waiting (the flag of
/// [`punzip::cancel`] is watched, so Ctrl-C ends the prompt with the terminal restored).
#[allow(dead_code)]
pub fn ask_secret(prompt: &str) -> io::Result<Option<Vec<u8>>> {
    if !io::stdin().is_terminal() {
        return Ok(None);
    }
    let Ok(tty) = File::options().read(true).write(true).open("/dev/tty") else {
        return Ok(None);
    };
    let fd = tty.as_raw_fd();
    // SAFETY: termios is a plain C struct that tcgetattr fills.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a live struct.
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Ok(None);
    }
    let restore = Restore { tty: &tty, saved };
    let mut quiet = saved;
    quiet.c_lflag &= !(libc::ECHO | libc::ECHOE | libc::ECHOK);
    // SAFETY: a valid descriptor and settings derived from its own.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
        return Ok(None);
    }
    (&tty).write_all(prompt.as_bytes())?;
    let mut line = Vec::new();
    let got = loop {
        if punzip::cancel::interrupted() {
            break Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; waits at most 100 ms.
        if unsafe { libc::poll(&mut p, 1, 100) } <= 0 {
            continue;
        }
        let mut buf = [0u8; 256];
        match (&tty).read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                line.extend_from_slice(&buf[..n]);
                if line.ends_with(b"\n") {
                    line.pop();
                    break Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    drop(restore);
    let _ = (&tty).write_all(b"\n");
    got.map(|()| Some(line))
}
