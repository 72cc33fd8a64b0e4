//! Floors measured in the same run, on the same cores: what the hardware does with no server
//! around it. Rows are printed as ratios to these, which hold from day to day while the
//! machines' absolute speed does not.

use std::time::{Duration, Instant};

use anyhow::Result;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};

use crate::harness::quick;

/// How long each floor is measured.
fn span() -> Duration {
    if quick() {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(2)
    }
}

/// Signatures per second of one thread over a JWS-sized input, with a key pair made once
/// (as Portico's key ring keeps them).
pub(crate) fn raw_sign_rate(alg: &str) -> f64 {
    let message = vec![b'x'; 600];
    let rng = SystemRandom::new();
    let mut sign: Box<dyn FnMut()> = match alg {
        "RS256" => {
            let Ok(pair) = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048) else {
                return 0.0;
            };
            let mut sig = vec![0u8; pair.public_modulus_len()];
            Box::new(move || {
                let _ = pair.sign(&signature::RSA_PKCS1_SHA256, &rng, &message, &mut sig);
            })
        }
        "ES256" => {
            let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
            let Some(pair) = EcdsaKeyPair::generate_pkcs8(alg, &rng)
                .ok()
                .and_then(|doc| EcdsaKeyPair::from_pkcs8(alg, doc.as_ref()).ok())
            else {
                return 0.0;
            };
            let _ = pair.public_key();
            Box::new(move || {
                let _ = pair.sign(&rng, &message);
            })
        }
        _ => {
            let Some(pair) = Ed25519KeyPair::generate_pkcs8(&rng)
                .ok()
                .and_then(|doc| Ed25519KeyPair::from_pkcs8(doc.as_ref()).ok())
            else {
                return 0.0;
            };
            Box::new(move || {
                let _ = pair.sign(&message);
            })
        }
    };
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < span() {
        sign();
        count += 1;
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// An argon2id hasher with Portico's parameters (OWASP's m = 19 MiB, t = 2, p = 1).
fn hasher() -> Result<argon2::Argon2<'static>> {
    let params = argon2::Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// `password` hashed as Portico hashes it (a PHC string), for seeded accounts.
pub(crate) fn portico_hash(password: &str) -> Result<String> {
    use argon2::password_hash::PasswordHasher as _;
    Ok(hasher()?
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
        .to_string())
}

/// argon2id hashes per second with Portico's parameters (OWASP's m = 19 MiB, t = 2, p = 1),
/// on `threads` threads at once: what a password sign-in can reach at best on those cores.
pub(crate) fn argon2_rate(threads: usize) -> f64 {
    use argon2::password_hash::PasswordHasher as _;
    let Ok(hasher) = hasher() else {
        return 0.0;
    };
    // The threads inherit this process's affinity: on every core while they run, as the
    // server's hashing pool is, then back on the load generator's.
    crate::harness::pin(std::process::id(), &crate::harness::all_cores());
    let started = Instant::now();
    let deadline = started + span().max(Duration::from_millis(500));
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut count = 0u64;
                    while Instant::now() < deadline {
                        let _ = hasher.hash_password(b"bench-Password-1");
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
    });
    let rate = counts.iter().sum::<u64>() as f64 / started.elapsed().as_secs_f64();
    crate::harness::pin(std::process::id(), &crate::harness::generator_core());
    rate
}
