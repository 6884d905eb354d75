//! Parses a `.reg` file with the `regashii` crate (the best existing Rust parser), so its
//! time and peak memory can be measured beside ours on the same file:
//!
//! `/usr/bin/time -v cargo run --release --example regashii_parse -- target/reg-bench/big.reg`
//! `/usr/bin/time -v target/release/proxy-triage parse target/reg-bench/big.reg > /dev/null`

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: regashii_parse FILE.reg");
        std::process::exit(3);
    };
    match regashii::Registry::deserialize_file(&path) {
        Ok(registry) => println!("{} keys", registry.keys().len()),
        Err(e) => {
            eprintln!("regashii: {e:?}");
            std::process::exit(2);
        }
    }
}
