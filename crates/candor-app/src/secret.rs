//! Loading the server secret: from the environment, from a configured file, or generated on
//! first run into the data directory with mode 0600.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use rand::RngCore;

use crate::config::Config;

/// The server secret: the HMAC key that turns external ids into subject keys.
#[derive(Clone)]
pub struct ServerSecret(Arc<Vec<u8>>);

impl ServerSecret {
    pub fn new(bytes: Vec<u8>) -> ServerSecret {
        ServerSecret(Arc::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(<secret>)")
    }
}

/// Shortest secret accepted, in bytes: HMAC-SHA-256 wants at least its output size.
pub const SECRET_BYTES_MIN: usize = 32;
/// File name of the generated secret inside the data directory.
pub const SECRET_FILE: &str = "secret.key";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the server secret must be at least {SECRET_BYTES_MIN} bytes")]
    TooShort,
    #[error("cannot read or create the secret file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn checked(bytes: Vec<u8>) -> Result<ServerSecret, SecretError> {
    if bytes.len() < SECRET_BYTES_MIN {
        return Err(SecretError::TooShort);
    }
    Ok(ServerSecret::new(bytes))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SecretError + '_ {
    move |source| SecretError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The secret the configuration names, or the one in the data directory, creating it there.
pub fn load_or_create(config: &Config) -> Result<ServerSecret, SecretError> {
    if let Some(s) = &config.secret {
        return checked(s.trim().as_bytes().to_vec());
    }
    if let Some(path) = &config.secret_file {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        return checked(text.trim().as_bytes().to_vec());
    }
    // Private like the store makes it: the secret may be the first thing written there.
    candor_store::sqlite::create_data_dir(&config.data_dir).map_err(io_err(&config.data_dir))?;
    let path = config.data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => checked(text.trim().as_bytes().to_vec()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            write_private(&path, hex::encode(bytes).as_bytes()).map_err(io_err(&path))?;
            // Read back what is on disk: another process may have created it first.
            let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
            checked(text.trim().as_bytes().to_vec())
        }
        Err(e) => Err(io_err(&path)(e)),
    }
}

/// Creates `path` readable by its owner only; fails rather than overwrite an existing file,
/// so two processes starting at once cannot end up with different secrets.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    };
    file.write_all(bytes)?;
    file.sync_all()
}
