//! Integration tests: the real binaries, run in temporary directories, checked against
//! independent oracles (the zip crate's writer, Python's zipfile, Info-ZIP unzip, md5sum,
//! the md-5 crate).

mod bench;
mod corpus;
mod differential;
mod filesystems;
mod habits_phash;
mod hostile;
mod listing;
mod md5_speed;
mod phash;
mod pipe;
mod punzip;
mod punzip_floor;
mod scale;
mod shards;
mod signals;
mod util;
