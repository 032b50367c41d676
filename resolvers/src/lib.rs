//! Maven dependency resolution (filled by the Maven resolution issue).
