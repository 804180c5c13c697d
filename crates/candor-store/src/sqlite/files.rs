//! Who may read the data directory: Candor's own user, nobody else.
//!
//! On Unix the directory is created with mode 0700 and the database file with 0600 before
//! SQLite opens it; SQLite gives the files it adds beside it (`-wal`, `-shm`, `-journal`) the
//! database file's mode, so they are 0600 too. A directory or files made looser earlier (by
//! an older Candor, a copy, a restore) are tightened at every open: the directory to 0700,
//! each regular file in it to 0600, whatever the process's umask. Elsewhere the platform's
//! defaults apply.

use std::io;
use std::path::Path;

/// Creates the data directory (and missing parents) readable by its owner only.
pub fn create_data_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates the database file, empty and readable by its owner only, unless it exists.
pub(super) fn create_database_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Takes every permission of group and others away from the directory and from each regular
/// file directly in it. Symbolic links are left alone: what they point to is not Candor's.
#[cfg(unix)]
pub(super) fn restrict(dir: &Path) -> io::Result<()> {
    restrict_one(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            restrict_one(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn restrict_one(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn restrict(_dir: &Path) -> io::Result<()> {
    Ok(())
}
