//! Fuzz-style run over every parser and decoder: many seeded random and mutated inputs, no
//! panic allowed. Slow, so ignored by default:
//! `cargo test --release --test fuzz_all -- --ignored` (FUZZ_CASES=N to change the count).

use proxy_triage::artifact::{self, Scope};
use proxy_triage::proxy::{hex::parse_hex, ProxyValue};

/// xorshift64*: deterministic, so a failure is reproducible from its case number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Known-good seeds of every kind (mutated below).
fn seeds() -> Vec<Vec<u8>> {
    let conn = "HKEY_USERS\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";
    let reg = format!(
        "Windows Registry Editor Version 5.00\r\n\r\n[{conn}]\r\n\"DefaultConnectionSettings\"=hex:46,00,00,00,03,00,00,00,03,00,00,00,0e,00,00,00,70,72,6f,78,79,3a,38,30,38,30,2c,2c,2c,2c,\\\r\n  00,00,00,00,00,00,00,00\r\n\"ProxyEnable\"=dword:00000001\r\n@=\"x\"\r\n\"M\"=hex(7):61,00,00,00,00,00\r\n"
    );
    let mut utf16 = vec![0xFF, 0xFE];
    for u in reg.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    vec![
        reg.clone().into_bytes(),
        utf16,
        format!("C:\\>reg compare \"HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" \"HKU\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" /v DefaultConnectionSettings\r\n< Value: {conn}  DefaultConnectionSettings REG_BINARY 4600000003000000\r\n> Value: {conn}  DefaultConnectionSettings REG_BINARY 4600000009000000\r\nResult Compared:  Different\r\nThe operation completed successfully.\r\n").into_bytes(),
        "C:\\>reg compare \"HKCU\\x\" \"HKU\\S-1-5-18\\x\" /v DefaultConnectionSettings\r\nERROR: The system was unable to find the specified registry key or value.\r\n".as_bytes().to_vec(),
        format!("\r\n{conn}\r\n    DefaultConnectionSettings    REG_BINARY    46000000030000000100000000\r\n    ProxyEnable    REG_DWORD    0x1\r\n    ProxyServer    REG_SZ    proxy:8080\r\n\r\nEnd of search: 3 match(es) found.\r\n").into_bytes(),
        b"Current WinHTTP proxy settings:\r\n\r\n    Proxy Server(s) :  http=proxy:8080;https=proxy:8443\r\n    Bypass List     :  <local>;*.corp\r\n".to_vec(),
        b"Current WinHTTP advanced proxy settings:\r\n\r\n{\r\n\t\"ProxyIsEnabled\": true,\r\n\t\"Proxy\": \"proxy:8080\",\r\n\t\"ProxyBypass\": \"<local>\",\r\n\t\"AutoDetect\": false\r\n}\r\n".to_vec(),
        b"2024-03-06 11:42:39.6370 Error [WebClient] Proxy authentication required 407\r\n   at Microsoft.Tri.Common\r\n2024-03-06 11:42:40.0000 Warn The remote certificate is invalid\r\n".to_vec(),
        b"{\"$type\":\"SensorConfiguration\",\"SensorProxyConfiguration\":{\"$type\":\"SensorProxyConfiguration\",\"Url\":\"http://proxy:8080\",\"UserName\":null,\"EncryptedUserPasswordData\":null}}".to_vec(),
        b"StatusCode        : 503\r\nStatusDescription : Service Unavailable\r\n".to_vec(),
        b"DefaultConnectionSettings : {70, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0...}\r\n".to_vec(),
        b"regf\x01\x00\x00\x00".to_vec(),
    ]
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        match rng.below(7) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b.truncate(i);
            }
            2 => {
                let i = rng.below(b.len() + 1);
                let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                b.splice(i..i, junk);
            }
            3 if !b.is_empty() => {
                let i = rng.below(b.len());
                let j = (i + rng.below(64)).min(b.len());
                b.drain(i..j);
            }
            4 => {
                let i = rng.below(b.len() + 1);
                let tok: &[u8] = [
                    &b"\r\n"[..],
                    b"\\\r\n",
                    b"\x00",
                    b"\x1b[31m",
                    b"\xff\xfe",
                    b"[HKEY_CURRENT_USER\\x]\r\n",
                    b"hex:ff,ff,ff,ff",
                    b"REG_BINARY ",
                    b"\"",
                ][rng.below(9)];
                b.splice(i..i, tok.iter().copied());
            }
            5 if !b.is_empty() => {
                // Repeat a slice (long lines, long continuations).
                let i = rng.below(b.len());
                let j = (i + 1 + rng.below(32)).min(b.len());
                let piece = b[i..j].to_vec();
                for _ in 0..rng.below(200) {
                    b.splice(i..i, piece.iter().copied());
                }
            }
            _ => {
                let n = rng.below(256);
                b.extend((0..n).map(|_| rng.next() as u8));
            }
        }
    }
    b
}

#[test]
#[ignore = "slow: cargo test --release --test fuzz_all -- --ignored"]
fn every_parser_and_decoder_survives_mutated_inputs() {
    let cases: u64 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let seeds = seeds();
    for case in 0..cases {
        let mut rng = Rng(case.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let input = if rng.below(10) == 0 {
            let n = rng.below(4096);
            (0..n).map(|_| rng.next() as u8).collect()
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed)
        };
        let result = std::panic::catch_unwind(|| {
            for scope in [Scope::Full, Scope::ProxyRelevant] {
                let a = artifact::parse_bytes("fuzz", &input, scope);
                let _ = serde_json::to_string(&a);
            }
            for name in [None, Some("WinHttpSettings")] {
                let v = ProxyValue::decode(&input, name);
                let _ = serde_json::to_string(&v);
                let _ = v.effective();
            }
            if let Ok(bytes) = parse_hex(&String::from_utf8_lossy(&input)) {
                let _ = ProxyValue::decode(&bytes, None);
            }
        });
        assert!(
            result.is_ok(),
            "case {case} panicked; input ({} bytes): {:?}",
            input.len(),
            String::from_utf8_lossy(&input[..input.len().min(400)])
        );
    }
}
