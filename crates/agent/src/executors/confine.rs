//! Paths confined to configured roots: absolute, no `..`, and — once symlinks are resolved —
//! still inside a root. Used by the `file.*` and `env.*` executors.

use std::path::{Component, Path, PathBuf};

/// The real path `raw` names if it lies within one of `roots`. For a file that does not exist
/// yet (`must_exist` false) its directory must exist and lie within a root.
pub fn confined(roots: &[String], raw: &str, must_exist: bool) -> Result<PathBuf, String> {
    let path = Path::new(raw);
    if !path.is_absolute() {
        return Err(format!("`{raw}` is not an absolute path."));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("`{raw}` may not contain `..`."));
    }
    let real_roots: Vec<PathBuf> = roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .collect();
    let real = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(_) if !must_exist => {
            let parent = path
                .parent()
                .ok_or_else(|| format!("`{raw}` has no directory."))?;
            let name = path
                .file_name()
                .ok_or_else(|| format!("`{raw}` names no file."))?;
            std::fs::canonicalize(parent)
                .map_err(|e| format!("`{}`: {e}", parent.display()))?
                .join(name)
        }
        Err(e) => return Err(format!("`{raw}`: {e}")),
    };
    if real_roots.iter().any(|root| real.starts_with(root)) {
        Ok(real)
    } else {
        Err(format!(
            "`{raw}` is outside this agent's allowed roots (after following links)."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_symlink_escapes_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("ok.txt"), "fine").unwrap();
        std::fs::write(outside.path().join("secret.txt"), "no").unwrap();
        let roots = vec![root.path().display().to_string()];
        let inside = root.path().join("ok.txt");
        assert!(confined(&roots, inside.to_str().unwrap(), true).is_ok());
        let dotdot = format!("{}/../{}", root.path().display(), outside.path().display());
        assert!(confined(&roots, &dotdot, true).unwrap_err().contains(".."));
        assert!(confined(&roots, "relative.txt", false)
            .unwrap_err()
            .contains("absolute"));
        let direct = outside.path().join("secret.txt");
        assert!(confined(&roots, direct.to_str().unwrap(), true)
            .unwrap_err()
            .contains("outside"));
        #[cfg(unix)]
        {
            let link = root.path().join("link");
            std::os::unix::fs::symlink(outside.path(), &link).unwrap();
            let through = link.join("secret.txt");
            assert!(confined(&roots, through.to_str().unwrap(), true)
                .unwrap_err()
                .contains("outside"));
            let new_through = link.join("new.txt");
            assert!(confined(&roots, new_through.to_str().unwrap(), false)
                .unwrap_err()
                .contains("outside"));
        }
        let new_inside = root.path().join("new.txt");
        assert!(confined(&roots, new_inside.to_str().unwrap(), false).is_ok());
    }
}
