//! Where bytes come from: files, folders, zip archives, stdin, with caps. STUB.
