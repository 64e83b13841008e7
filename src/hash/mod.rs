//! phash: parallel, md5sum-compatible hashing of files and trees (being written).
