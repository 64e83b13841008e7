//! What a member's metadata becomes on disk: its kind, its permission bits and its
//! modification time. Pure functions of the central directory entry, so planning and
//! tests can use them without touching the file system. The extended timestamp field,
//! which wins over the DOS time, is read by the central directory parser; whether the
//! external attributes hold a Unix mode at all depends on the host that made the entry
//! (see `central::Entry::unix_mode`): without one, files get 0666 and directories 0777
//! under the umask, as Python's zipfile and 7-Zip do.

use zip::DateTime;

/// What a member is, from its name and its Unix mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

const S_IFMT: u32 = 0o170000;

/// The kind of a member, from the trailing slash of its name and the file-type bits.
///
/// A FIFO, socket or device mode makes a regular file holding the member's data, as
/// Info-ZIP `unzip` does: `mysqldump | zip backup.zip -` stores its member `-` with the
/// pipe's mode (`S_IFIFO`) and the dump as data, and that data is what the user wants
/// back. No FIFO, socket or device node is ever created.
pub fn kind(name_is_dir: bool, unix_mode: Option<u32>) -> Kind {
    let kind = match unix_mode.map(|m| m & S_IFMT) {
        Some(0o040000) => Kind::Dir,
        Some(0o120000) => Kind::Symlink,
        _ => Kind::File,
    };
    if name_is_dir {
        Kind::Dir
    } else {
        kind
    }
}

/// Permission bits to give the extracted entry: the archive's, without setuid, setgid
/// and sticky (as Info-ZIP without -K), else the default for new files under the umask.
/// A DOS read-only attribute removes the write bits.
pub fn mode(kind: Kind, unix_mode: Option<u32>, external: u32, umask: u32) -> u32 {
    let default = match kind {
        Kind::Dir => 0o777,
        _ => 0o666,
    } & !umask;
    let perms = match unix_mode {
        Some(m) if m & 0o777 != 0 || m & S_IFMT != 0 => m & 0o777,
        _ => default,
    };
    if unix_mode.is_none() && external & 1 != 0 {
        perms & !0o222
    } else {
        perms
    }
}

/// Year, month, day and hour.
type Hour = (u16, u8, u8, u8);

/// A DOS date and time, as local time, to Unix seconds.
///
/// glibc's mktime looks at /etc/localtime on every call (a stat system call), which made
/// a million-member plan spend most of its time there. The local offset is the same
/// within an hour, so the result for the start of each hour is remembered per thread.
pub fn dos_to_unix(dt: DateTime) -> Option<i64> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        /// Seconds at the start of (year, month, day, hour), local time.
        static HOURS: RefCell<HashMap<Hour, Option<i64>>> =
            RefCell::new(HashMap::new());
    }
    if !dt.is_valid() {
        return None;
    }
    let hour = (dt.year(), dt.month(), dt.day(), dt.hour());
    let within = i64::from(dt.minute()) * 60 + i64::from(dt.second());
    HOURS.with(|h| {
        let mut h = h.borrow_mut();
        if let Some(start) = h.get(&hour) {
            return start.map(|s| s + within);
        }
        // Bounded: a hostile archive could use a different hour for every member.
        if h.len() >= 4096 {
            h.clear();
        }
        let start = DateTime::from_date_and_time(dt.year(), dt.month(), dt.day(), dt.hour(), 0, 0)
            .ok()
            .and_then(mktime);
        h.insert(hour, start);
        start.map(|s| s + within)
    })
}

fn mktime(dt: DateTime) -> Option<i64> {
    // SAFETY: `tm` is a plain C struct, zeroed then filled; mktime only reads and
    // normalises it and is thread-safe in glibc and musl.
    let t = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = i32::from(dt.year()) - 1900;
        tm.tm_mon = i32::from(dt.month()) - 1;
        tm.tm_mday = i32::from(dt.day());
        tm.tm_hour = i32::from(dt.hour());
        tm.tm_min = i32::from(dt.minute());
        tm.tm_sec = i32::from(dt.second());
        tm.tm_isdst = -1;
        libc::mktime(&mut tm)
    };
    (t != -1).then_some(t as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_mode_bits_and_the_trailing_slash() {
        assert_eq!(kind(false, Some(0o100644)), Kind::File);
        assert_eq!(kind(false, None), Kind::File);
        assert_eq!(kind(true, None), Kind::Dir);
        assert_eq!(kind(false, Some(0o040755)), Kind::Dir);
        assert_eq!(kind(false, Some(0o120777)), Kind::Symlink);
        for special in [0o010644, 0o020644, 0o060644, 0o140644] {
            assert_eq!(kind(false, Some(special)), Kind::File, "{special:o}");
        }
    }

    #[test]
    fn setuid_setgid_and_sticky_are_dropped() {
        assert_eq!(mode(Kind::File, Some(0o104755), 0, 0o022), 0o755);
        assert_eq!(mode(Kind::Dir, Some(0o041777), 0, 0o022), 0o777);
    }

    #[test]
    fn missing_modes_default_under_the_umask() {
        assert_eq!(mode(Kind::File, None, 0, 0o022), 0o644);
        assert_eq!(mode(Kind::Dir, None, 0, 0o027), 0o750);
        assert_eq!(mode(Kind::File, None, 1, 0o022), 0o444, "DOS read-only");
    }
}
