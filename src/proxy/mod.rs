//! The proxy model: WinINet and WinHTTP blobs, proxy strings, bypass lists, routes. STUB.
