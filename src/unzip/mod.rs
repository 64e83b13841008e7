//! punzip: plan, extract, test and list zip archives (being written).
