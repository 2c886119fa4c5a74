//! JWT signing per token, ours (`Signer`, aws-lc-rs with a parsed key) beside the
//! `jsonwebtoken` crate with a cached key, for RS256 and ES256: the signing
//! limit of the refresh path (BENCHMARKS.md) comes from these numbers.
//! `cargo bench -p rulebox-auth-core --bench jwt_signing`.

use criterion::{Criterion, criterion_group, criterion_main};
use rulebox_auth_core::crypto::jwt::Signer;
use rulebox_auth_core::crypto::keys::{Alg, KeyPair};
use serde_json::json;
use std::hint::black_box;

fn signing(c: &mut Criterion) {
    let claims = json!({"iss": "https://tenant.example.com/", "sub": "auth0|abc",
        "aud": "https://api.example.com", "iat": 1, "exp": 2, "scope": "openid profile email"});
    for alg in [Alg::RS256, Alg::ES256] {
        let key = KeyPair::generate(alg).expect("key");
        let signer = Signer::new(&key).expect("signer");
        let name = format!("{alg:?}");
        let mut group = c.benchmark_group(name);
        group.bench_function("Signer::sign", |b| {
            b.iter(|| black_box(signer.sign(&claims).expect("sign")))
        });
        let mut header = jsonwebtoken::Header::new(match alg {
            Alg::RS256 => jsonwebtoken::Algorithm::RS256,
            Alg::ES256 => jsonwebtoken::Algorithm::ES256,
        });
        header.kid = Some(key.kid.clone());
        let encoding = match alg {
            Alg::RS256 => jsonwebtoken::EncodingKey::from_rsa_pem(key.private_pem.as_bytes()),
            Alg::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(key.private_pem.as_bytes()),
        }
        .expect("encoding key");
        group.bench_function("jsonwebtoken::encode (cached key)", |b| {
            b.iter(|| black_box(jsonwebtoken::encode(&header, &claims, &encoding).expect("encode")))
        });
        group.bench_function("Signer::new (PEM parse)", |b| {
            b.iter(|| black_box(Signer::new(&key).expect("signer")))
        });
        group.finish();
    }
}

criterion_group!(benches, signing);
criterion_main!(benches);
