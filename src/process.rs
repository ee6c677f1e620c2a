//! Whether a process runs: one answer for `chatctl local` (the emulator and
//! site proxy it started) and for the clean-up of change sets a killed
//! launch left (is the launch that made one still running?).

/// Whether a process with id `pid` exists. Signal 0 checks without
/// signalling; `EPERM` means it exists but belongs to another user, so it
/// counts (a launch run by another user on a shared machine is alive). Pid
/// 0 and ids past `i32::MAX` name a process group or nothing, never one
/// process.
pub fn exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::exists;

    #[test]
    fn this_process_exists_and_groups_or_gone_children_do_not() {
        assert!(exists(std::process::id()));
        assert!(exists(1), "init runs, whoever owns it");
        assert!(!exists(0), "0 is this process group, not a process");
        assert!(!exists(u32::MAX), "past i32::MAX is a group id");
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        assert!(!exists(pid), "a reaped child is gone");
    }
}
