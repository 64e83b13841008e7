//! `punzip -l`: the member table in `unzip -l`'s layout, so eyes and scripts used to it
//! read it unchanged. Names go through [`Shown`]: a control character in a member name
//! is printed escaped, never sent to the terminal.

use std::io::{self, Write};

use super::plan::Plan;
use crate::error::Shown;

/// Writes the listing of `plan` for the archive named `archive`.
pub fn write_listing(
    out: &mut (impl Write + ?Sized),
    archive: &str,
    plan: &Plan,
) -> io::Result<()> {
    writeln!(out, "Archive:  {}", Shown::new(archive))?;
    if !plan.comment.is_empty() {
        // The comment's lines as they are, each escaped like a name: a comment is as
        // much the archive maker's choice as a member name.
        let text = String::from_utf8_lossy(&plan.comment);
        for line in text.split('\n') {
            writeln!(
                out,
                "{}",
                Shown::new(line.strip_suffix('\r').unwrap_or(line))
            )?;
        }
    }
    writeln!(out, "  Length      Date    Time    Name")?;
    writeln!(out, "---------  ---------- -----   ----")?;
    let mut total = 0u64;
    for m in &plan.members {
        total = total.saturating_add(m.size);
        let (date, time) = match m.dos_time {
            Some(d) => (
                format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
                format!("{:02}:{:02}", d.hour(), d.minute()),
            ),
            None => ("1980-00-00".into(), "00:00".into()),
        };
        writeln!(
            out,
            "{:>9}  {date} {time}   {}",
            m.size,
            Shown::new(&m.name)
        )?;
    }
    writeln!(out, "---------                     -------")?;
    let n = plan.members.len();
    writeln!(
        out,
        "{total:>9}                     {n} file{}",
        if n == 1 { "" } else { "s" }
    )
}
