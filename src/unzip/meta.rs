//! What a member's metadata becomes on disk: its kind, its permission bits and its
//! modification time. Pure functions of the central directory entry, so planning and
//! tests can use them without touching the file system. The extended timestamp field,
//! which wins over the DOS time, is read by the central directory parser; whether the
//! external attributes hold a Unix mode at all depends on the host that made the entry
//! (see `central::Entry::unix_mode`): without one, files get 0666 and directories 0777
//! under the umask, as Python's zipfile and 7-Zip do.

use zip::DateTime;

/// A modification time to give an extracted entry: Unix seconds, and nanoseconds where
/// the archive has them (an NTFS field's 100 ns ticks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mtime {
    pub secs: i64,
    pub nsec: u32,
}

impl From<i64> for Mtime {
    fn from(secs: i64) -> Mtime {
        Mtime { secs, nsec: 0 }
    }
}

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

/// A member's DOS date and time fields, as local time, to Unix seconds, the way Info-ZIP
/// `unzip` reads them: valid fields as [`dos_to_unix`]; invalid ones (a date of 0, which
/// some writers leave, month 13, February 31, hour 24) by its arithmetic rather than
/// refused, so that the file gets the time unzip gives it (date 0 is 1979-12-31 00:00;
/// 2020-13-01 is 2021-01-01; 2021-02-31 is 2021-03-03). Such a member was given the time
/// of extraction.
pub fn dos_fields_to_unix(date: u16, time: u16) -> Option<i64> {
    dos_mtime(DateTime::try_from_msdos(date, time).ok(), date, time)
}

/// [`dos_fields_to_unix`] for a caller that has parsed the fields already (`parsed`).
pub fn dos_mtime(parsed: Option<DateTime>, date: u16, time: u16) -> Option<i64> {
    match parsed {
        Some(dt) if dt.is_valid() => dos_to_unix(dt),
        _ => invalid_dos_to_unix(date, time),
    }
}

/// [`dos_fields_to_unix`] for fields that are no date, by unzip's arithmetic.
fn invalid_dos_to_unix(date: u16, time: u16) -> Option<i64> {
    /// Days of a common year before each month, from January (unzip's `ydays`).
    const BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    let year = 1980 + i64::from(date >> 9);
    let month = i64::from((date >> 5) & 0x0f);
    let day = i64::from(date & 0x1f);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    // Months 0, 14 and 15 read as January (unzip reads them from outside its table, and
    // gets 0 there), 13 as the next January; day 0 is the day before the first.
    let before = match month {
        1..=13 => BEFORE[(month - 1) as usize],
        _ => 0,
    };
    let mut days = days_from_civil(year, 1, 1) + before + day - 1;
    if leap && month > 2 {
        days += 1;
    }
    let naive = days * 86_400
        + i64::from(time >> 11) * 3600
        + i64::from((time >> 5) & 0x3f) * 60
        + i64::from(time & 0x1f) * 2;
    // The same wall-clock time, now in range, as local time.
    let (y, m, d) = civil_from_days(naive.div_euclid(86_400));
    let secs = naive.rem_euclid(86_400);
    mktime_fields(y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn mktime(dt: DateTime) -> Option<i64> {
    mktime_fields(
        i64::from(dt.year()),
        i64::from(dt.month()),
        i64::from(dt.day()),
        i64::from(dt.hour()),
        i64::from(dt.minute()),
        i64::from(dt.second()),
    )
}

/// A local wall-clock time (month and day from 1), in range, to Unix seconds.
fn mktime_fields(year: i64, month: i64, day: i64, hour: i64, min: i64, sec: i64) -> Option<i64> {
    // SAFETY: `tm` is a plain C struct, zeroed then filled; mktime only reads and
    // normalises it and is thread-safe in glibc and musl.
    let t = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = (year - 1900) as i32;
        tm.tm_mon = (month - 1) as i32;
        tm.tm_mday = day as i32;
        tm.tm_hour = hour as i32;
        tm.tm_min = min as i32;
        tm.tm_sec = sec as i32;
        tm.tm_isdst = -1;
        libc::mktime(&mut tm)
    };
    (t != -1).then_some(t as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip_and_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1979, 12, 31), 3651);
        for z in [-800_000, -1, 0, 1, 59, 11_016, 11_017, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{z}");
        }
    }

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
