//! Why dependencies could not be installed: one kind per reason a tenant can
//! act on, each naming the package.

/// A failed resolve or install. The message is what a build's `failed`
/// status shows the tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpmError {
    #[error("`{0}` is not a valid npm package name")]
    InvalidName(String),
    #[error("`{range}` is not a valid version range for {name}")]
    InvalidRange { name: String, range: String },
    #[error("the npm registry could not be reached for {name}: {reason}")]
    RegistryUnreachable { name: String, reason: String },
    #[error("the npm registry answered {status} for {name}")]
    RegistryError { name: String, status: u16 },
    #[error("package {0} does not exist in the npm registry")]
    UnknownPackage(String),
    #[error("no version of {name} matches `{range}`")]
    NoMatchingVersion { name: String, range: String },
    #[error("the registry's metadata for {name} is unreadable: {reason}")]
    BadPackument { name: String, reason: String },
    #[error("{name}@{version}: the tarball does not match its integrity {expected}")]
    IntegrityMismatch {
        name: String,
        version: String,
        expected: String,
    },
    #[error("{name}@{version}: the tarball is unreadable: {reason}")]
    BadTarball {
        name: String,
        version: String,
        reason: String,
    },
    #[error(
        "{name}@{version} needs a native add-on ({why}), which cannot run in the rulebox sandbox"
    )]
    NativeAddon {
        name: String,
        version: String,
        why: String,
    },
    #[error("the dependency tree is over the {limit}-byte limit (unpacked), at {name}")]
    TreeTooLarge { name: String, limit: u64 },
    #[error("the dependency tree has more than {limit} packages, at {name}")]
    TooManyPackages { name: String, limit: usize },
}
