//! Nothing on the library's paths waits by spinning: beside a runnable
//! thread of the same priority, `sched_yield` hands it the CPU for a whole
//! scheduler slice (4 ms on the test machine) and a thread that spins loses
//! the wake-up credit a sleeper keeps. Every wait parks (a futex, a condvar,
//! io_uring, a blocking syscall). This reads `src/` (without comments and
//! unit-test modules) and fails on any spin or yield.
use std::path::Path;

fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let text = match text.find("#[cfg(all(test, not(loom)))]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn scan(dir: &Path, found: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            scan(&p, found);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let code = code_of(&std::fs::read_to_string(&p).unwrap());
            for word in ["yield_now", "spin_loop", "sched_yield", "SPIN"] {
                if code.contains(word) {
                    found.push(format!("{}: {word}", p.display()));
                }
            }
        }
    }
}

#[test]
fn no_wait_in_the_library_spins_or_yields() {
    let mut found = Vec::new();
    scan(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(found.is_empty(), "spinning waits in src/: {found:?}");
}
