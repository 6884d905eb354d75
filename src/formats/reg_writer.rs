//! Writes `.reg` text byte-identical to regedit's export. STUB.
