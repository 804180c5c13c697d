//! How every connection reaches PostgreSQL: the storage URL's `sslmode` and `sslrootcert`,
//! over rustls.
//!
//! The driver knows only `disable`, `prefer` and `require`, never checks a certificate itself,
//! and refuses `sslrootcert`; so both parameters are taken out of the URL here, and the TLS
//! configuration handed to the driver decides what is checked. The modes mean what they mean to
//! libpq:
//!
//! | `sslmode`     | TLS                         | certificate checked                     |
//! |---------------|-----------------------------|-----------------------------------------|
//! | `disable`     | never                       | —                                       |
//! | `prefer`      | when the server offers it   | no                                      |
//! | `require`     | always                      | no; the chain when `sslrootcert` is set |
//! | `verify-ca`   | always                      | the chain                               |
//! | `verify-full` | always                      | the chain and the host name             |
//!
//! Without `sslmode` the mode is `prefer`, as for libpq (and so `psql`): a server that offers
//! TLS gets it, one that does not still works. Only `verify-full` stops an attacker who can
//! stand between Candor and the database. The chain is checked against `sslrootcert` (a PEM
//! file) when given, otherwise against Mozilla's roots (bundled) and the system's.

use std::sync::Arc;

use postgres::{Client, NoTls};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{StoreError, StoreResult};

/// Longest `sslrootcert` file read, in bytes: a bundle of every public root is about 250 KiB.
const ROOT_FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

/// The `sslmode` values Candor understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> StoreResult<SslMode> {
        match text {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(StoreError::Other(format!(
                "sslmode `{other}` in the PostgreSQL URL is not one of disable, prefer, require, verify-ca, verify-full"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where and how to connect: the driver's settings and the TLS they go with.
pub(super) struct Target {
    pub(super) config: postgres::Config,
    mode: SslMode,
    tls: Option<MakeRustlsConnect>,
}

impl Target {
    /// Reads a storage URL (a `postgres://` URL or a `key=value` string) and prepares its TLS:
    /// an `sslrootcert` file that is missing or holds no certificate fails here, before any
    /// connection is tried.
    pub(super) fn parse(url: &str) -> StoreResult<Target> {
        let (rest, params) = take_tls_params(url);
        let mut config: postgres::Config = rest
            .parse()
            .map_err(|_| StoreError::Other("the PostgreSQL URL is not valid".into()))?;
        let mode = match &params.sslmode {
            Some(text) => SslMode::parse(text)?,
            None => SslMode::Prefer,
        };
        // Read only by the modes that check certificates, as libpq does.
        let roots = || match params.sslrootcert.as_deref() {
            // libpq's word for "the system's roots", which is what no file means here too.
            None | Some("system") => Ok(None),
            Some(path) => read_roots(path).map(Some),
        };
        let provider = Arc::new(provider());
        let unchecked = || -> Arc<dyn ServerCertVerifier> { Arc::new(Unchecked(provider.clone())) };
        let verifier = match mode {
            SslMode::Disable => None,
            SslMode::Prefer => Some(unchecked()),
            // As libpq: `require` with a root file checks the chain.
            SslMode::Require => match roots()? {
                Some(roots) => Some(chain_only(Some(roots), &provider)?),
                None => Some(unchecked()),
            },
            SslMode::VerifyCa => Some(chain_only(roots()?, &provider)?),
            SslMode::VerifyFull => {
                Some(webpki(roots()?, &provider)? as Arc<dyn ServerCertVerifier>)
            }
        };
        config.ssl_mode(match mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                postgres::config::SslMode::Require
            }
        });
        let tls = match verifier {
            None => None,
            Some(verifier) => {
                let client = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| StoreError::Other(format!("TLS set-up: {e}")))?
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth();
                Some(MakeRustlsConnect::new(client))
            }
        };
        Ok(Target { config, mode, tls })
    }

    /// Opens one connection. A certificate the mode refuses is a configuration error, not a
    /// passing outage, and says what to change.
    pub(super) fn connect(&self) -> StoreResult<Client> {
        let connected = match &self.tls {
            None => self.config.connect(NoTls),
            Some(tls) => self.config.connect(tls.clone()),
        };
        connected.map_err(|e| match rustls_error(&e) {
            Some(tls) => StoreError::Other(format!(
                "TLS with PostgreSQL failed (sslmode={}): {tls}{}",
                self.mode.name(),
                hint(tls)
            )),
            None => super::map_err(e),
        })
    }
}

/// The parameters taken out of the URL.
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsParams {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Splits `sslmode` and `sslrootcert` off a storage URL, in either of its forms; the rest is
/// handed to the driver unchanged. A later occurrence wins, as in libpq.
fn take_tls_params(url: &str) -> (String, TlsParams) {
    let mut params = TlsParams::default();
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            params.sslmode = Some(value);
            true
        }
        "sslrootcert" => {
            params.sslrootcert = Some(value);
            true
        }
        _ => false,
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        !take(key, percent_decode(value))
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        match key_values(url) {
            Some(pairs) => {
                let kept: Vec<&str> = pairs
                    .into_iter()
                    .filter(|(key, value, _)| !take(key, value.clone()))
                    .map(|(_, _, text)| text)
                    .collect();
                kept.join(" ")
            }
            // Not well formed: the driver's parser says so.
            None => url.to_owned(),
        }
    };
    (rest, params)
}

/// The pairs of a libpq `key=value` string: each key, its unquoted value and its original
/// text. Values are bare words or single-quoted, with backslash escapes in either.
fn key_values(text: &str) -> Option<Vec<(&str, String, &str)>> {
    let mut pairs = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let start = rest;
        let key_len = rest.find(|c: char| c == '=' || c.is_whitespace())?;
        let key = &rest[..key_len];
        rest = rest[key_len..].trim_start().strip_prefix('=')?.trim_start();
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let quoted = rest.starts_with('\'');
        if quoted {
            chars.next();
        }
        let mut end = rest.len();
        let mut closed = !quoted;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => value.push(chars.next()?.1),
                '\'' if quoted => {
                    end = i + 1;
                    closed = true;
                    break;
                }
                c if !quoted && c.is_whitespace() => {
                    end = i;
                    break;
                }
                c => value.push(c),
            }
        }
        if !closed {
            return None;
        }
        let consumed = start.len() - rest.len() + end;
        pairs.push((key, value, &start[..consumed]));
        rest = rest[end..].trim_start();
    }
    Some(pairs)
}

/// Decodes `%XX` escapes; anything else is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// rustls on *ring*. rustls deprecates this provider for lacking post-quantum key exchange;
/// its alternative, aws-lc-rs, is a large C build with cmake that every machine building
/// Candor would then need. Key exchange is still X25519 or ECDHE, as libpq's OpenSSL offers.
#[allow(deprecated)]
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The certificates of an `sslrootcert` PEM file.
fn read_roots(path: &str) -> StoreResult<RootCertStore> {
    let fail = |why: String| StoreError::Other(format!("sslrootcert `{path}`: {why}"));
    let metadata = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if metadata.len() > ROOT_FILE_BYTES_MAX {
        return Err(fail(format!("larger than {ROOT_FILE_BYTES_MAX} bytes")));
    }
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| fail(format!("not a PEM file: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| fail(format!("not a usable certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(fail("holds no PEM certificate".into()));
    }
    Ok(roots)
}

/// The given roots, or Mozilla's and the system's.
fn roots_or_default(roots: Option<RootCertStore>) -> RootCertStore {
    roots.unwrap_or_else(|| {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        // A system store that cannot be read leaves the bundled roots, which is what a
        // container without CA certificates has anyway.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        roots
    })
}

/// Checks chain and host name.
fn webpki(
    roots: Option<RootCertStore>,
    provider: &Arc<CryptoProvider>,
) -> StoreResult<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots_or_default(roots)),
        Arc::clone(provider),
    )
    .build()
    .map_err(|e| StoreError::Other(format!("TLS set-up: {e}")))
}

fn chain_only(
    roots: Option<RootCertStore>,
    provider: &Arc<CryptoProvider>,
) -> StoreResult<Arc<dyn ServerCertVerifier>> {
    Ok(Arc::new(ChainOnly(webpki(roots, provider)?)))
}

/// `verify-ca`: the chain must lead to a trusted root; the name in the certificate may be
/// any. webpki checks the chain before the name, so a name mismatch means the chain passed.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require`: encrypted, certificate unchecked (as libpq). The handshake's
/// signatures are still checked, so the session is bound to the certificate the server showed,
/// which channel binding (SCRAM-SHA-256-PLUS) relies on.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls error behind a failed connect, if TLS is what failed. The TLS stream reports it
/// wrapped in an `io::Error`, whose `source` skips it, so each level is looked into.
fn rustls_error(e: &postgres::Error) -> Option<&rustls::Error> {
    let mut next = std::error::Error::source(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(inner);
        }
        next = err.source();
    }
    None
}

/// What to change when a certificate is refused.
fn hint(e: &rustls::Error) -> &'static str {
    match e {
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => {
            "; the certificate does not lead to a trusted root: name the server's CA with sslrootcert=/path/ca.pem"
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "; the certificate is not for this host name: connect by a name it lists",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, Option<&'static str>, Option<String>) {
        let (rest, p) = take_tls_params(url);
        let mode = p.sslmode.map(|m| SslMode::parse(&m).unwrap().name());
        (rest, mode, p.sslrootcert)
    }

    #[test]
    fn tls_parameters_leave_the_url_and_the_rest_stays() {
        assert_eq!(
            split("postgres://u:p@h:5432/db"),
            ("postgres://u:p@h:5432/db".into(), None, None)
        );
        assert_eq!(
            split("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem"),
            (
                "postgres://u@h/db".into(),
                Some("verify-full"),
                Some("/etc/ca.pem".into())
            )
        );
        assert_eq!(
            split("postgresql://h/db?application_name=a&sslmode=require&options=-c%20x%3Dy"),
            (
                "postgresql://h/db?application_name=a&options=-c%20x%3Dy".into(),
                Some("require"),
                None
            )
        );
        assert_eq!(
            split("host=h user=u sslmode = disable  dbname='my db' sslrootcert='/a b/c\\'s.pem'"),
            (
                "host=h user=u dbname='my db'".into(),
                Some("disable"),
                Some("/a b/c's.pem".into())
            )
        );
        // Malformed text is left for the driver to refuse.
        assert_eq!(split("host='h"), ("host='h".into(), None, None));
    }

    #[test]
    fn modes_and_root_files_are_refused_with_reasons() {
        let err = |url: &str| match Target::parse(url) {
            Err(StoreError::Other(msg)) => msg,
            other => panic!("{url}: {:?}", other.map(|t| t.mode)),
        };
        assert!(err("postgres://h/db?sslmode=allow").contains("not one of"));
        assert!(
            err("postgres://h/db?sslmode=verify-full&sslrootcert=/no/such.pem")
                .contains("/no/such.pem")
        );
        let dir = std::env::temp_dir().join(format!("candor-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let msg = err(&format!(
            "host=h sslmode=verify-ca sslrootcert={}",
            empty.display()
        ));
        assert!(msg.contains("no PEM certificate"), "{msg}");
        let bad = dir.join("bad.pem");
        std::fs::write(
            &bad,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let msg = err(&format!(
            "host=h sslmode=require sslrootcert={}",
            bad.display()
        ));
        assert!(msg.contains("not a usable certificate"), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err("postgres://h/db?nonsense=1").contains("not valid"));
    }

    #[test]
    fn the_default_is_prefer_and_unused_root_files_are_not_read() {
        let t = Target::parse("postgres://h/db").unwrap();
        assert_eq!(t.mode, SslMode::Prefer);
        assert!(t.tls.is_some());
        let t = Target::parse("postgres://h/db?sslmode=disable&sslrootcert=/no/such.pem").unwrap();
        assert_eq!(t.mode, SslMode::Disable);
        assert!(t.tls.is_none());
        let t = Target::parse("postgres://h/db?sslmode=verify-full").unwrap();
        assert_eq!(t.mode, SslMode::VerifyFull);
    }
}
