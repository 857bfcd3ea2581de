//! What the demo system contains: "Keel Demo OS", an invented Fedora Atomic-like OS whose versions
//! differ the way real composes do (rebuilt packages, a new kernel, a package added and one removed),
//! so that diffs, updates and rollbacks in the demo have something real to show.
//!
//! Everything here is a pure function of the version number: the same number always gives the same
//! packages and the same bytes. A file's bytes depend only on the package that owns it, so unchanged
//! packages give identical objects from one version to the next, as in a real compose. Programs in
//! the tree are stand-in scripts; nothing here is meant to run.

use crate::format::civil_from_days;
use crate::packages::Package;

pub const OS_NAME: &str = "Keel Demo OS";
const OS_ID: &str = "keeldemo";
const RELEASEVER: &str = "41";
const HOME_URL: &str = "https://github.com/keelapp/keel";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileContents {
    Regular(Vec<u8>),
    Symlink(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// Relative to the root of the commit, e.g. `usr/bin/bash`.
    pub path: String,
    pub contents: FileContents,
    /// Permission bits only; 0o777 for symlinks.
    pub mode: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoVersion {
    pub number: u32,
    /// Fedora style, `41.YYYYMMDD.0`.
    pub version: String,
    /// Unix seconds: the version's date at 06:00 UTC.
    pub timestamp: u64,
    /// `version-release.arch` of the `kernel` package, the name of its `usr/lib/modules` folder.
    pub kernel: String,
    /// Sorted.
    pub packages: Vec<Package>,
}

/// A package that is not in the base image and can be layered on top of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerPackage {
    pub package: Package,
    /// One line, as in `rpm -q --qf '%{SUMMARY}'`.
    pub summary: String,
    pub files: Vec<TreeFile>,
}

/// name, epoch, version, release, arch, and the programs it installs in /usr/bin (`sbin/…` for /usr/sbin).
type PackageRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Every base package any version has, as first shipped; all are in version 1 except [`ADDED_IN_3`].
#[rustfmt::skip]
const PACKAGES: &[PackageRow] = &[
    ("NetworkManager", "1", "1.48.10", "2.fc41", "x86_64", &["nmcli", "sbin/NetworkManager"]),
    ("bash", "0", "5.2.32", "1.fc41", "x86_64", &["bash", "bashbug"]),
    ("bluez", "0", "5.78", "2.fc41", "x86_64", &["bluetoothctl", "btmon"]),
    ("btrfs-progs", "0", "6.11", "1.fc41", "x86_64", &["sbin/btrfs", "sbin/mkfs.btrfs", "sbin/btrfstune"]),
    ("ca-certificates", "0", "2024.2.69_v8.0.401", "1.0.fc41", "noarch", &["update-ca-trust"]),
    ("containers-common", "5", "0.60.4", "1.fc41", "noarch", &[]),
    ("coreutils", "0", "9.5", "11.fc41", "x86_64", &[
        "cat", "chmod", "chown", "cp", "cut", "date", "dd", "df", "du", "echo", "env", "false",
        "head", "id", "install", "ln", "ls", "mkdir", "mktemp", "mv", "nproc", "readlink",
        "realpath", "rm", "rmdir", "sleep", "sort", "stat", "tail", "tee", "touch", "tr", "true",
        "uname", "uniq", "wc", "whoami",
    ]),
    ("curl", "0", "8.9.1", "2.fc41", "x86_64", &["curl"]),
    ("dbus-broker", "0", "36", "4.fc41", "x86_64", &["dbus-broker", "dbus-broker-launch"]),
    ("dracut", "0", "102", "3.fc41", "x86_64", &["dracut", "lsinitrd"]),
    ("fastfetch", "0", "2.29.0", "1.fc41", "x86_64", &["fastfetch", "flashfetch"]),
    ("fedora-release-common", "0", "41", "29", "noarch", &[]),
    ("findutils", "1", "4.10.0", "4.fc41", "x86_64", &["find", "xargs"]),
    ("firefox", "0", "131.0.3", "1.fc41", "x86_64", &["firefox"]),
    ("firewalld", "0", "2.2.3", "1.fc41", "noarch", &["firewall-cmd", "sbin/firewalld"]),
    ("flatpak", "0", "1.15.10", "1.fc41", "x86_64", &["flatpak"]),
    ("gawk", "0", "5.3.0", "4.fc41", "x86_64", &["gawk"]),
    ("gdm", "1", "47.0", "2.fc41", "x86_64", &["sbin/gdm"]),
    ("git-core", "0", "2.47.0", "1.fc41", "x86_64", &["git"]),
    ("glib2", "0", "2.82.2", "1.fc41", "x86_64", &["gio", "gsettings", "gdbus", "glib-compile-schemas"]),
    ("glibc", "0", "2.40", "9.fc41", "x86_64", &["ldd", "getent", "iconv", "sbin/ldconfig"]),
    ("gnome-control-center", "0", "47.1", "1.fc41", "x86_64", &["gnome-control-center"]),
    ("gnome-shell", "0", "47.1", "1.fc41", "x86_64", &["gnome-shell", "gnome-extensions"]),
    ("gnome-software", "0", "47.1", "1.fc41", "x86_64", &["gnome-software"]),
    ("grep", "0", "3.11", "9.fc41", "x86_64", &["grep", "egrep", "fgrep"]),
    ("grub2-efi-x64", "1", "2.12", "10.fc41", "x86_64", &[]),
    ("gtk4", "0", "4.16.3", "1.fc41", "x86_64", &["gtk4-launch", "gtk4-update-icon-cache"]),
    ("gzip", "0", "1.13", "2.fc41", "x86_64", &["gzip", "gunzip", "zcat"]),
    ("iproute", "0", "6.10.0", "1.fc41", "x86_64", &["ip", "ss", "bridge"]),
    ("kernel", "0", "6.11.4", "301.fc41", "x86_64", &[]),
    ("kernel-core", "0", "6.11.4", "301.fc41", "x86_64", &[]),
    ("kernel-modules", "0", "6.11.4", "301.fc41", "x86_64", &[]),
    ("less", "0", "661", "2.fc41", "x86_64", &["less", "lesskey"]),
    ("libadwaita", "0", "1.6.1", "1.fc41", "x86_64", &[]),
    ("libcurl", "0", "8.9.1", "2.fc41", "x86_64", &[]),
    ("libstdc++", "0", "14.2.1", "3.fc41", "x86_64", &[]),
    ("mesa-dri-drivers", "0", "24.2.5", "1.fc41", "x86_64", &[]),
    ("mutter", "0", "47.1", "1.fc41", "x86_64", &["mutter"]),
    ("nano", "0", "8.1", "1.fc41", "x86_64", &["nano"]),
    ("nano-default-editor", "0", "8.1", "1.fc41", "noarch", &[]),
    ("nautilus", "0", "47.0", "1.fc41", "x86_64", &["nautilus"]),
    ("openssh-clients", "0", "9.8p1", "3.fc41", "x86_64", &["ssh", "scp", "sftp", "ssh-keygen", "ssh-add", "ssh-agent"]),
    ("openssl-libs", "1", "3.2.2", "9.fc41", "x86_64", &[]),
    ("ostree", "0", "2024.8", "1.fc41", "x86_64", &["ostree"]),
    ("passwd", "0", "0.80", "18.fc41", "x86_64", &["passwd"]),
    ("pipewire", "0", "1.2.6", "1.fc41", "x86_64", &["pipewire", "pw-cli", "pw-top"]),
    ("podman", "5", "5.2.5", "1.fc41", "x86_64", &["podman"]),
    ("polkit", "0", "125", "1.fc41", "x86_64", &["pkexec", "pkaction", "pkcheck"]),
    ("procps-ng", "0", "4.0.4", "4.fc41", "x86_64", &["ps", "top", "free", "uptime", "pgrep", "pkill", "watch", "vmstat"]),
    ("ptyxis", "0", "47.1", "1.fc41", "x86_64", &["ptyxis"]),
    ("python3", "0", "3.13.0", "1.fc41", "x86_64", &["python3.13"]),
    ("rpm", "0", "4.20.0", "1.fc41", "x86_64", &["rpm", "rpmkeys"]),
    ("rpm-ostree", "0", "2024.8", "1.fc41", "x86_64", &["rpm-ostree"]),
    ("sed", "0", "4.9", "3.fc41", "x86_64", &["sed"]),
    ("selinux-policy-targeted", "0", "41.22", "1.fc41", "noarch", &[]),
    ("setup", "0", "2.15.0", "5.fc41", "noarch", &[]),
    ("shadow-utils", "2", "4.15.1", "12.fc41", "x86_64", &["chage", "newgrp", "sbin/useradd", "sbin/usermod", "sbin/userdel", "sbin/groupadd"]),
    ("sudo", "0", "1.9.15", "5.p5.fc41", "x86_64", &["sudo"]),
    ("systemd", "0", "256.7", "1.fc41", "x86_64", &[
        "systemctl", "journalctl", "loginctl", "hostnamectl", "timedatectl", "localectl", "busctl",
        "systemd-analyze", "systemd-run", "resolvectl",
    ]),
    ("systemd-libs", "0", "256.7", "1.fc41", "x86_64", &[]),
    ("systemd-udev", "0", "256.7", "1.fc41", "x86_64", &["udevadm"]),
    ("tar", "2", "1.35", "4.fc41", "x86_64", &["tar"]),
    ("toolbox", "0", "0.0.99.6", "1.fc41", "x86_64", &["toolbox"]),
    ("tzdata", "0", "2024b", "1.fc41", "noarch", &[]),
    ("util-linux", "0", "2.40.2", "4.fc41", "x86_64", &[
        "dmesg", "findmnt", "lsblk", "lscpu", "mount", "umount", "su", "script", "sbin/fdisk",
        "sbin/mkswap", "sbin/fstrim", "sbin/blkid", "sbin/nologin",
    ]),
    ("vim-minimal", "2", "9.1.785", "1.fc41", "x86_64", &["vi"]),
    ("wireplumber", "0", "0.5.6", "1.fc41", "x86_64", &["wireplumber", "wpctl"]),
    ("xz", "1", "5.6.2", "2.fc41", "x86_64", &["xz"]),
    ("zlib-ng-compat", "0", "2.1.7", "3.fc41", "x86_64", &[]),
];

const ADDED_IN_3: &str = "fastfetch";
const REMOVED_IN_3: &str = "nano-default-editor";

/// name, new version, new release.
#[rustfmt::skip]
const UPGRADES_IN_2: &[(&str, &str, &str)] = &[
    ("ca-certificates", "2024.2.69_v8.0.401", "1.1.fc41"),
    ("curl", "8.9.1", "3.fc41"),
    ("firefox", "132.0", "1.fc41"),
    ("flatpak", "1.15.10", "2.fc41"),
    ("libcurl", "8.9.1", "3.fc41"),
    ("mesa-dri-drivers", "24.2.6", "1.fc41"),
    ("pipewire", "1.2.7", "1.fc41"),
    ("tzdata", "2024b", "2.fc41"),
];

#[rustfmt::skip]
const UPGRADES_IN_3: &[(&str, &str, &str)] = &[
    ("firefox", "132.0.1", "1.fc41"),
    ("glib2", "2.82.2", "3.fc41"),
    ("gnome-shell", "47.2", "1.fc41"),
    ("kernel", "6.11.5", "300.fc41"),
    ("kernel-core", "6.11.5", "300.fc41"),
    ("kernel-modules", "6.11.5", "300.fc41"),
    ("mutter", "47.2", "1.fc41"),
    ("openssl-libs", "3.2.2", "10.fc41"),
    ("podman", "5.3.0", "1.fc41"),
    ("systemd", "256.8", "1.fc41"),
    ("systemd-libs", "256.8", "1.fc41"),
    ("systemd-udev", "256.8", "1.fc41"),
];

/// Built from one source and upgraded together.
const KERNEL_PACKAGES: [&str; 3] = ["kernel", "kernel-core", "kernel-modules"];

/// (year, month, day) of versions 1 to 3; later versions come weekly after version 3.
const FIRST_DATES: [(i64, u32, u32); 3] = [(2026, 11, 1), (2026, 11, 12), (2026, 11, 25)];

/// owner, path, target.
#[rustfmt::skip]
const SYMLINKS: &[(&str, &str, &str)] = &[
    ("bash", "usr/bin/sh", "bash"),
    ("gawk", "usr/bin/awk", "gawk"),
    ("nano", "usr/bin/rnano", "nano"),
    ("python3", "usr/bin/python3", "python3.13"),
    ("rpm", "usr/bin/rpmquery", "rpm"),
    ("sudo", "usr/bin/sudoedit", "sudo"),
    ("systemd", "usr/sbin/halt", "../bin/systemctl"),
    ("systemd", "usr/sbin/poweroff", "../bin/systemctl"),
    ("systemd", "usr/sbin/reboot", "../bin/systemctl"),
    ("systemd", "usr/sbin/shutdown", "../bin/systemctl"),
    ("vim-minimal", "usr/bin/ex", "vi"),
    ("vim-minimal", "usr/bin/rvi", "vi"),
    ("vim-minimal", "usr/bin/view", "vi"),
    ("xz", "usr/bin/unxz", "xz"),
    ("xz", "usr/bin/xzcat", "xz"),
];

/// owner, name in usr/lib64 that programs link to, the file it names (`{v}`: the package's version).
/// When the two differ the first is a symlink to the second, as ldconfig leaves them.
#[rustfmt::skip]
const LIBRARIES: &[(&str, &str, &str)] = &[
    ("glib2", "libgio-2.0.so.0", "libgio-2.0.so.0.8200.2"),
    ("glib2", "libglib-2.0.so.0", "libglib-2.0.so.0.8200.2"),
    ("glib2", "libgobject-2.0.so.0", "libgobject-2.0.so.0.8200.2"),
    ("glibc", "ld-linux-x86-64.so.2", "ld-linux-x86-64.so.2"),
    ("glibc", "libc.so.6", "libc.so.6"),
    ("glibc", "libm.so.6", "libm.so.6"),
    ("gtk4", "libgtk-4.so.1", "libgtk-4.so.1.1600.3"),
    ("libadwaita", "libadwaita-1.so.0", "libadwaita-1.so.0"),
    ("libcurl", "libcurl.so.4", "libcurl.so.4.8.0"),
    ("libstdc++", "libstdc++.so.6", "libstdc++.so.6.0.33"),
    ("mesa-dri-drivers", "dri/iris_dri.so", "dri/iris_dri.so"),
    ("mesa-dri-drivers", "dri/radeonsi_dri.so", "dri/radeonsi_dri.so"),
    ("mesa-dri-drivers", "dri/swrast_dri.so", "dri/swrast_dri.so"),
    ("mesa-dri-drivers", "dri/virtio_gpu_dri.so", "dri/virtio_gpu_dri.so"),
    ("openssl-libs", "libcrypto.so.3", "libcrypto.so.{v}"),
    ("openssl-libs", "libssl.so.3", "libssl.so.{v}"),
    ("ostree", "libostree-1.so.1", "libostree-1.so.1.0.0"),
    ("pipewire", "libpipewire-0.3.so.0", "libpipewire-0.3.so.0.1206.0"),
    ("rpm", "librpm.so.10", "librpm.so.10.0.0"),
    ("systemd-libs", "libsystemd.so.0", "libsystemd.so.0.39.0"),
    ("systemd-libs", "libudev.so.1", "libudev.so.1.7.9"),
    ("util-linux", "libblkid.so.1", "libblkid.so.1.1.0"),
    ("util-linux", "libmount.so.1", "libmount.so.1.1.0"),
    ("zlib-ng-compat", "libz.so.1", "libz.so.1.3.1.zlib-ng"),
];

/// owner, unit, Description=, ExecStart=.
#[rustfmt::skip]
const UNITS: &[(&str, &str, &str, &str)] = &[
    ("NetworkManager", "NetworkManager.service", "Network Manager", "/usr/sbin/NetworkManager --no-daemon"),
    ("bluez", "bluetooth.service", "Bluetooth service", "/usr/libexec/bluetooth/bluetoothd"),
    ("dbus-broker", "dbus-broker.service", "D-Bus System Message Bus", "/usr/bin/dbus-broker-launch --scope system --audit"),
    ("firewalld", "firewalld.service", "firewalld - dynamic firewall daemon", "/usr/sbin/firewalld --nofork --nopid"),
    ("flatpak", "flatpak-system-helper.service", "flatpak system helper", "/usr/libexec/flatpak-system-helper"),
    ("gdm", "gdm.service", "GNOME Display Manager", "/usr/sbin/gdm"),
    ("ostree", "ostree-finalize-staged.service", "OSTree Finalize Staged Deployment", "/usr/bin/ostree admin finalize-staged"),
    ("podman", "podman.service", "Podman API Service", "/usr/bin/podman system service"),
    ("polkit", "polkit.service", "Authorization Manager", "/usr/lib/polkit-1/polkitd --no-debug"),
    ("rpm-ostree", "rpm-ostreed.service", "rpm-ostree System Management Daemon", "/usr/bin/rpm-ostree start-daemon"),
    ("systemd", "systemd-journald.service", "Journal Service", "/usr/lib/systemd/systemd-journald"),
    ("systemd", "systemd-logind.service", "User Login Management", "/usr/lib/systemd/systemd-logind"),
    ("systemd", "systemd-resolved.service", "Network Name Resolution", "/usr/lib/systemd/systemd-resolved"),
    ("systemd-udev", "systemd-udevd.service", "Rule-based Manager for Device Events and Files", "/usr/lib/systemd/systemd-udevd"),
];

/// owner, desktop file id, Name=, Comment=, Exec=.
#[rustfmt::skip]
const DESKTOP_FILES: &[(&str, &str, &str, &str, &str)] = &[
    ("firefox", "firefox", "Firefox", "Browse the Web", "firefox %u"),
    ("gnome-control-center", "org.gnome.Settings", "Settings", "Utility to configure the GNOME desktop", "gnome-control-center"),
    ("gnome-software", "org.gnome.Software", "Software", "Add, remove or update software on this computer", "gnome-software %U"),
    ("nautilus", "org.gnome.Nautilus", "Files", "Access and organize files", "nautilus --new-window %U"),
    ("ptyxis", "org.gnome.Ptyxis", "Ptyxis", "Container-oriented terminal", "ptyxis --new-window"),
];

/// Kernel modules shipped in every kernel, relative to `usr/lib/modules/<kernel>/kernel`.
const MODULES: &[&str] = &[
    "drivers/gpu/drm/amd/amdgpu/amdgpu.ko",
    "drivers/gpu/drm/i915/i915.ko",
    "drivers/gpu/drm/virtio/virtio-gpu.ko",
    "drivers/net/ethernet/intel/e1000e/e1000e.ko",
    "drivers/net/wireless/intel/iwlwifi/iwlwifi.ko",
    "drivers/nvme/host/nvme.ko",
    "drivers/usb/storage/usb-storage.ko",
    "fs/btrfs/btrfs.ko",
    "fs/overlayfs/overlay.ko",
    "net/bluetooth/bluetooth.ko",
    "sound/pci/hda/snd-hda-intel.ko",
];

/// owner, path under usr/etc (the defaults OSTree merges into /etc), mode, contents.
#[rustfmt::skip]
const ETC_FILES: &[(&str, &str, u32, &str)] = &[
    ("NetworkManager", "NetworkManager/NetworkManager.conf", 0o644,
        "# Configuration file for NetworkManager; see NetworkManager.conf(5).\n[main]\n#plugins=keyfile\n"),
    ("containers-common", "containers/policy.json", 0o644,
        "{\n    \"default\": [\n        {\n            \"type\": \"insecureAcceptAnything\"\n        }\n    ]\n}\n"),
    ("containers-common", "containers/registries.conf", 0o644,
        "# For more information on this configuration file, see containers-registries.conf(5).\n\
         unqualified-search-registries = [\"registry.fedoraproject.org\", \"registry.access.redhat.com\", \"docker.io\"]\n\
         short-name-mode = \"enforcing\"\n"),
    ("dracut", "dracut.conf", 0o644, "# PUT YOUR CONFIG IN separate files\n# in /etc/dracut.conf.d named \"<name>.conf\"\n"),
    ("firewalld", "firewalld/firewalld.conf", 0o644, "# firewalld config file\nDefaultZone=FedoraWorkstation\nCleanupOnExit=yes\n"),
    ("glibc", "ld.so.conf", 0o644, "include ld.so.conf.d/*.conf\n"),
    ("nano", "nanorc", 0o644, "## Sample initialization file for GNU nano; see nanorc(5).\nset nowrap\n"),
    ("nano-default-editor", "profile.d/nano-default-editor.sh", 0o644,
        "# Ensure nano is set as the EDITOR if it isn't already set\nif [ -z \"$EDITOR\" ]; then\n    export EDITOR=\"/usr/bin/nano\"\nfi\n"),
    ("openssh-clients", "ssh/ssh_config", 0o644, "# See ssh_config(5) for more information.\nInclude /etc/ssh/ssh_config.d/*.conf\n"),
    ("rpm-ostree", "rpm-ostreed.conf", 0o644, "# Entries in this file show the compile time defaults.\n[Daemon]\n#AutomaticUpdatePolicy=none\n#IdleExitTimeout=60\n"),
    ("setup", "bashrc", 0o644, "# /etc/bashrc: system wide functions and aliases\nif [ -d /etc/bashrc.d/ ]; then\n  for i in /etc/bashrc.d/*.sh; do . \"$i\"; done\nfi\n"),
    ("setup", "fstab", 0o644,
        "#\n# /etc/fstab\n# The usual Fedora Atomic layout; the demo system has no disks of its own.\n#\n\
         UUID=4c7a0d2e-5b1f-4f63-9a8e-2d9c3e6f1a01 /         btrfs subvol=root,compress=zstd:1 0 0\n\
         UUID=8f3e6a1b-2c4d-4e5f-8a9b-0c1d2e3f4a5b /boot     ext4  defaults                    1 2\n\
         UUID=5A1C-3F2E                            /boot/efi vfat  umask=0077,shortname=winnt  0 2\n\
         UUID=4c7a0d2e-5b1f-4f63-9a8e-2d9c3e6f1a01 /home     btrfs subvol=home,compress=zstd:1 0 0\n\
         UUID=4c7a0d2e-5b1f-4f63-9a8e-2d9c3e6f1a01 /var      btrfs subvol=var,compress=zstd:1  0 0\n"),
    ("setup", "group", 0o644,
        "root:x:0:\nbin:x:1:\ndaemon:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nwheel:x:10:\n\
         users:x:100:\nnobody:x:65534:\n"),
    ("setup", "gshadow", 0o640, "root:::\nbin:::\ndaemon:::\nsys:::\nadm:::\ntty:::\ndisk:::\nwheel:::\nusers:::\nnobody:::\n"),
    ("setup", "hostname", 0o644, "keel-demo\n"),
    ("setup", "hosts", 0o644,
        "# Loopback entries; do not change.\n\
         127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n\
         ::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n"),
    ("setup", "motd", 0o644,
        "Welcome to Keel Demo OS.\n\nThis system was made by Keel to show how updates, rollbacks and pinning work.\n\
         Its programs are stand-ins; its deployments are real.\n"),
    ("setup", "passwd", 0o644,
        "root:x:0:0:Super User:/root:/bin/bash\nbin:x:1:1:bin:/bin:/usr/sbin/nologin\n\
         daemon:x:2:2:daemon:/sbin:/usr/sbin/nologin\nadm:x:3:4:adm:/var/adm:/usr/sbin/nologin\n\
         nobody:x:65534:65534:Kernel Overflow User:/:/usr/sbin/nologin\n"),
    ("setup", "profile", 0o644,
        "# /etc/profile: system wide environment and startup programs, for login setup\n\
         for i in /etc/profile.d/*.sh; do\n    [ -r \"$i\" ] && . \"$i\"\ndone\nunset i\n"),
    ("setup", "shadow", 0o640,
        "root:!locked::0:99999:7:::\nbin:*:19820:0:99999:7:::\ndaemon:*:19820:0:99999:7:::\n\
         adm:*:19820:0:99999:7:::\nnobody:*:19820:0:99999:7:::\n"),
    ("setup", "shells", 0o644, "/bin/sh\n/bin/bash\n/usr/bin/sh\n/usr/bin/bash\n"),
    ("sudo", "sudo.conf", 0o640, "# Default /etc/sudo.conf file\n#Plugin sudoers_policy sudoers.so\n"),
    ("sudo", "sudoers", 0o440,
        "## Sudoers allows particular users to run various commands as\n## the root user, without needing the root password.\n\
         Defaults   !visiblepw\nDefaults    always_set_home\nDefaults    env_reset\n\
         Defaults    secure_path = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\n\
         root\tALL=(ALL) \tALL\n%wheel\tALL=(ALL)\tALL\n#includedir /etc/sudoers.d\n"),
    ("systemd", "systemd/journald.conf", 0o644, "# See journald.conf(5) for details.\n[Journal]\n#Storage=auto\n#Compress=yes\n"),
    ("systemd", "systemd/logind.conf", 0o644, "# See logind.conf(5) for details.\n[Login]\n#KillUserProcesses=no\n"),
    ("systemd", "systemd/system.conf", 0o644, "# See systemd-system.conf(5) for details.\n[Manager]\n#LogLevel=info\n"),
    ("vim-minimal", "virc", 0o644, "if v:lang =~ \"utf8$\" || v:lang =~ \"UTF-8$\"\n   set fileencodings=ucs-bom,utf-8,latin1\nendif\nset nocompatible\n"),
];

/// name, epoch, version, release, arch, programs, summary.
type LayerRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
);

#[rustfmt::skip]
const LAYER_PACKAGES: &[LayerRow] = &[
    ("btop", "0", "1.4.0", "1.fc41", "x86_64", &["btop"],
        "Modern and colorful command line resource monitor that shows usage and stats"),
    ("distrobox", "0", "1.8.0", "1.fc41", "noarch", &["distrobox", "distrobox-create", "distrobox-enter"],
        "Another tool for containerized command line environments on Linux"),
    ("fish", "0", "3.7.1", "5.fc41", "x86_64", &["fish", "fish_indent", "fish_key_reader"], "Friendly interactive shell"),
    ("htop", "0", "3.3.0", "5.fc41", "x86_64", &["htop"], "Interactive process viewer"),
    ("neovim", "0", "0.10.2", "1.fc41", "x86_64", &["nvim"], "Vim-fork focused on extensibility and agility"),
    ("tmux", "0", "3.5a", "2.fc41", "x86_64", &["tmux"], "A terminal multiplexer"),
    ("vim-enhanced", "2", "9.1.785", "1.fc41", "x86_64", &["vim", "vimdiff", "vimtutor"],
        "A version of the VIM editor which includes recent enhancements"),
    ("zsh", "0", "5.9", "15.fc41", "x86_64", &["zsh"], "Powerful interactive shell"),
];

/// Demo version `number` (from 1). Panics on 0.
pub fn demo_version(number: u32) -> DemoVersion {
    assert!(number >= 1, "demo versions are numbered from 1");
    let packages = packages_of(number);
    let kernel = packages
        .iter()
        .find(|p| p.name == "kernel")
        .map(|k| format!("{}-{}.{}", k.version, k.release, k.arch))
        .expect("every demo version has a kernel");
    let day = release_day(number);
    let (year, month, date) = civil_from_days(day);
    DemoVersion {
        number,
        version: format!("{RELEASEVER}.{year:04}{month:02}{date:02}.0"),
        // Days since 1970 are positive for every version.
        timestamp: day.unsigned_abs() * 86_400 + 6 * 3_600,
        kernel,
        packages,
    }
}

fn package_of(row: &PackageRow) -> Package {
    Package::new(row.0, row.1, row.2, row.3, row.4)
}

fn packages_of(number: u32) -> Vec<Package> {
    let mut packages: Vec<Package> = PACKAGES
        .iter()
        .filter(|row| row.0 != ADDED_IN_3)
        .map(package_of)
        .collect();
    if number >= 2 {
        upgrade(&mut packages, UPGRADES_IN_2);
    }
    if number >= 3 {
        upgrade(&mut packages, UPGRADES_IN_3);
        packages.retain(|p| p.name != REMOVED_IN_3);
        packages.extend(
            PACKAGES
                .iter()
                .filter(|row| row.0 == ADDED_IN_3)
                .map(package_of),
        );
    }
    for n in 4..=number {
        routine_update(&mut packages, n);
    }
    packages.sort();
    packages
}

fn upgrade(packages: &mut [Package], upgrades: &[(&str, &str, &str)]) {
    for (name, version, release) in upgrades {
        let package = packages
            .iter_mut()
            .find(|p| p.name == *name)
            .expect("upgrades name packages of the base");
        package.version = (*version).to_owned();
        package.release = (*release).to_owned();
    }
}

/// Versions after 3 are routine: rebuilds of a rotating handful of packages, and a new kernel every
/// other version.
fn routine_update(packages: &mut [Package], number: u32) {
    let (kernel, mut others): (Vec<&mut Package>, Vec<&mut Package>) = packages
        .iter_mut()
        .partition(|p| KERNEL_PACKAGES.contains(&p.name.as_str()));
    let count = 5 + number as usize % 6;
    let start = number as usize * 13;
    let len = others.len();
    for i in 0..count {
        let package = &mut others[(start + i) % len];
        package.release = bump_release(&package.release);
    }
    if number.is_multiple_of(2) {
        for package in kernel {
            package.version = bump_last_number(&package.version);
            package.release = "200.fc41".to_owned();
        }
    }
}

/// A rebuild: "2.fc41" → "3.fc41", "29" → "30".
fn bump_release(release: &str) -> String {
    let digits = release.bytes().take_while(u8::is_ascii_digit).count();
    let build: u64 = release[..digits].parse().unwrap_or(0);
    format!("{}{}", build + 1, &release[digits..])
}

/// A stable kernel release: "6.11.5" → "6.11.6".
fn bump_last_number(version: &str) -> String {
    let (head, last) = version.rsplit_once('.').unwrap_or(("", version));
    let next = last.parse::<u64>().unwrap_or(0) + 1;
    if head.is_empty() {
        next.to_string()
    } else {
        format!("{head}.{next}")
    }
}

/// Days since 1970-01-01 of version `number`'s release.
fn release_day(number: u32) -> i64 {
    let index = (number.clamp(1, 3) - 1) as usize;
    let (year, month, date) = FIRST_DATES[index];
    days_from_civil(year, month, date) + 7 * (i64::from(number.max(3)) - 3)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, date: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    // Counting from March puts the leap day at the end of the year.
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(date) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[derive(Default)]
struct Tree(Vec<TreeFile>);

impl Tree {
    fn file(&mut self, path: impl Into<String>, mode: u32, text: impl Into<String>) {
        self.0.push(TreeFile {
            path: path.into(),
            contents: FileContents::Regular(text.into().into_bytes()),
            mode,
        });
    }

    fn link(&mut self, path: impl Into<String>, target: impl Into<String>) {
        self.0.push(TreeFile {
            path: path.into(),
            contents: FileContents::Symlink(target.into()),
            mode: 0o777,
        });
    }

    /// A package's own files: its README and, for each program, a stand-in script and a man page.
    fn package(&mut self, package: &Package, programs: &[&str]) {
        let nevra = package.nevra();
        self.file(
            format!("usr/share/doc/{}/README", package.name),
            0o644,
            format!(
                "{name}\n\nPackage: {nevra}\nVersion: {evr}\nArchitecture: {arch}\n\n\
                 This package is part of {OS_NAME}, which Keel made to demonstrate OSTree updates.\n",
                name = package.name,
                evr = package.evr(),
                arch = package.arch,
            ),
        );
        for program in programs {
            let (dir, name, section) = match program.strip_prefix("sbin/") {
                Some(name) => ("sbin", name, 8),
                None => ("bin", *program, 1),
            };
            self.file(
                format!("usr/{dir}/{name}"),
                0o755,
                format!(
                    "#!/bin/sh\n# /usr/{dir}/{name} from {nevra}: a stand-in in {OS_NAME}.\n\
                     echo \"{name} ({nevra}) is a stand-in in {OS_NAME}.\" >&2\nexit 0\n"
                ),
            );
            self.file(
                format!("usr/share/man/man{section}/{name}.{section}"),
                0o644,
                format!(
                    ".TH {upper} {section} \"\" \"{pkg} {version}\" \"{OS_NAME}\"\n.SH NAME\n\
                     {name} \\- stand-in for the program of the same name\n.SH DESCRIPTION\n\
                     Installed by {nevra}.\n",
                    upper = name.to_uppercase(),
                    pkg = package.name,
                    version = package.version,
                ),
            );
        }
    }
}

fn programs_of(name: &str) -> &'static [&'static str] {
    PACKAGES
        .iter()
        .find(|row| row.0 == name)
        .map_or(&[], |row| row.5)
}

/// The files of demo version `version`: a believable /usr with its /etc defaults in usr/etc.
pub fn os_tree(version: &DemoVersion) -> Vec<TreeFile> {
    let mut tree = Tree::default();
    let find = |name: &str| version.packages.iter().find(|p| p.name == name);
    for package in &version.packages {
        tree.package(package, programs_of(&package.name));
    }
    for (owner, path, target) in SYMLINKS {
        if find(owner).is_some() {
            tree.link(*path, *target);
        }
    }
    for (owner, link, real) in LIBRARIES {
        if let Some(package) = find(owner) {
            let real = real.replace("{v}", &package.version);
            tree.file(
                format!("usr/lib64/{real}"),
                0o755,
                format!("Stand-in for {real} from {}.\n", package.nevra()),
            );
            if *link != real {
                tree.link(format!("usr/lib64/{link}"), real);
            }
        }
    }
    for (owner, unit, description, exec) in UNITS {
        if find(owner).is_some() {
            tree.file(
                format!("usr/lib/systemd/system/{unit}"),
                0o644,
                format!(
                    "[Unit]\nDescription={description}\n\n[Service]\nExecStart={exec}\n\n\
                     [Install]\nWantedBy=multi-user.target\n"
                ),
            );
        }
    }
    for (owner, id, name, comment, exec) in DESKTOP_FILES {
        if find(owner).is_some() {
            tree.file(
                format!("usr/share/applications/{id}.desktop"),
                0o644,
                format!(
                    "[Desktop Entry]\nName={name}\nComment={comment}\nExec={exec}\nIcon={id}\n\
                     Terminal=false\nType=Application\n"
                ),
            );
        }
    }
    for (owner, path, mode, text) in ETC_FILES {
        if find(owner).is_some() {
            tree.file(format!("usr/etc/{path}"), *mode, *text);
        }
    }
    kernel_files(&mut tree, &version.kernel);

    tree.file("usr/lib/os-release", 0o644, os_release(&version.version));
    // Relative to /etc once deployed, as in Fedora.
    tree.link("usr/etc/os-release", "../usr/lib/os-release");
    // The one /etc default that changes with every version, so each update shows a config change.
    let (year, month, date) = civil_from_days((version.timestamp / 86_400) as i64);
    tree.file(
        "usr/etc/keel-demo.conf",
        0o644,
        format!(
            "# Which {OS_NAME} build this is; every version changes this file.\n[Build]\n\
             Number={}\nVersion={}\nDate={year:04}-{month:02}-{date:02}\nKernel={}\n",
            version.number, version.version, version.kernel,
        ),
    );
    let mut nevras: Vec<String> = version.packages.iter().map(Package::nevra).collect();
    nevras.sort();
    tree.file(
        "usr/lib/sysimage/rpm-ostree-base-db/Packages",
        0o644,
        format!(
            "# Packages in {OS_NAME} {}\n{}\n",
            version.version,
            nevras.join("\n")
        ),
    );
    tree.0
}

fn os_release(version: &str) -> String {
    format!(
        "NAME=\"{OS_NAME}\"\nVERSION=\"{version} ({OS_NAME})\"\nID={OS_ID}\nID_LIKE=fedora\n\
         VERSION_ID={RELEASEVER}\nPRETTY_NAME=\"{OS_NAME} {RELEASEVER} ({version})\"\n\
         ANSI_COLOR=\"0;38;2;60;110;180\"\nHOME_URL=\"{HOME_URL}\"\nVARIANT=\"Demo\"\n\
         VARIANT_ID=demo\nOSTREE_VERSION='{version}'\n"
    )
}

/// Where OSTree looks for a kernel: `usr/lib/modules/<kernel>/vmlinuz` and `initramfs.img`.
fn kernel_files(tree: &mut Tree, kernel: &str) {
    let dir = format!("usr/lib/modules/{kernel}");
    tree.file(
        format!("{dir}/vmlinuz"),
        0o755,
        format!("Stand-in kernel image.\nLinux version {kernel} ({OS_NAME})\n"),
    );
    tree.file(
        format!("{dir}/initramfs.img"),
        0o644,
        format!("Stand-in initramfs for Linux {kernel}.\n"),
    );
    tree.file(
        format!("{dir}/config"),
        0o644,
        format!(
            "# Linux/x86_64 {kernel} Kernel Configuration\nCONFIG_64BIT=y\nCONFIG_MODULES=y\n\
             CONFIG_BTRFS_FS=m\nCONFIG_OVERLAY_FS=m\n"
        ),
    );
    tree.file(
        format!("{dir}/System.map"),
        0o644,
        "0000000000000000 D __per_cpu_start\nffffffff81000000 T _stext\nffffffff81000000 T _text\n",
    );
    let mut dep = String::new();
    for module in MODULES {
        tree.file(
            format!("{dir}/kernel/{module}"),
            0o644,
            format!("Stand-in module {module} for Linux {kernel}.\n"),
        );
        dep.push_str(&format!("kernel/{module}:\n"));
    }
    tree.file(format!("{dir}/modules.dep"), 0o644, dep);
}

/// Packages that are not in the base image, to layer on it. Their files never collide with the base's.
pub fn layer_packages() -> Vec<LayerPackage> {
    LAYER_PACKAGES
        .iter()
        .map(
            |&(name, epoch, version, release, arch, programs, summary)| {
                let package = Package::new(name, epoch, version, release, arch);
                let mut tree = Tree::default();
                tree.package(&package, programs);
                LayerPackage {
                    package,
                    summary: summary.to_owned(),
                    files: tree.0,
                }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::packages::PackageDiff;

    fn paths(files: &[TreeFile]) -> BTreeSet<&str> {
        files.iter().map(|f| f.path.as_str()).collect()
    }

    fn text<'a>(files: &'a [TreeFile], path: &str) -> &'a str {
        match &files.iter().find(|f| f.path == path).expect(path).contents {
            FileContents::Regular(bytes) => std::str::from_utf8(bytes).unwrap(),
            FileContents::Symlink(_) => panic!("{path} is a symlink"),
        }
    }

    #[test]
    fn is_deterministic() {
        for n in [1, 2, 3, 4, 9] {
            assert_eq!(demo_version(n), demo_version(n));
            assert_eq!(os_tree(&demo_version(n)), os_tree(&demo_version(n)));
        }
        assert_eq!(layer_packages(), layer_packages());
    }

    #[test]
    fn versions_and_dates() {
        let cases = [
            (1, "41.20261101.0", 1_793_512_800),
            (2, "41.20261112.0", 1_794_463_200),
            (3, "41.20261125.0", 1_795_586_400),
            (4, "41.20261202.0", 1_795_586_400 + 7 * 86_400),
            (7, "41.20261223.0", 1_798_005_600),
            (8, "41.20261230.0", 1_798_005_600 + 7 * 86_400),
            (9, "41.20270106.0", 1_798_005_600 + 14 * 86_400),
            (10, "41.20270113.0", 1_799_820_000),
        ];
        for (n, version, timestamp) in cases {
            let v = demo_version(n);
            assert_eq!(
                (v.number, v.version.as_str(), v.timestamp),
                (n, version, timestamp)
            );
        }
        // Each version is newer than the last, by what rpm-ostree would compare.
        for n in 1..30 {
            assert!(demo_version(n + 1).timestamp > demo_version(n).timestamp);
        }
    }

    #[test]
    fn civil_date_arithmetic() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 2, 29) * 86_400 + 21_600, 951_804_000);
        assert_eq!(
            civil_from_days(days_from_civil(2000, 3, 1) - 1),
            (2000, 2, 29)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2100, 3, 1) - 1),
            (2100, 2, 28)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2026, 12, 31) + 1),
            (2027, 1, 1)
        );
        for day in -1000..100_000 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn release_and_version_bumps() {
        assert_eq!(bump_release("2.fc41"), "3.fc41");
        assert_eq!(bump_release("29"), "30");
        assert_eq!(bump_release("5.p5.fc41"), "6.p5.fc41");
        assert_eq!(bump_last_number("6.11.9"), "6.11.10");
    }

    #[test]
    fn version_3_adds_one_removes_one_and_upgrades_the_kernel() {
        let (v2, v3) = (demo_version(2), demo_version(3));
        let diff = PackageDiff::between(&v2.packages, &v3.packages);
        assert!(diff.upgraded.len() >= 10, "{}", diff.summary());
        assert!(diff.downgraded.is_empty());
        assert_eq!(diff.added.len(), 1);
        assert_eq!(diff.added[0].name, ADDED_IN_3);
        assert_eq!(diff.removed.len(), 1);
        assert_eq!(diff.removed[0].name, REMOVED_IN_3);
        assert!(diff.upgraded.iter().any(|c| c.name == "kernel"));
        assert_ne!(v2.kernel, v3.kernel);
        assert_eq!(v3.kernel, "6.11.5-300.fc41.x86_64");
    }

    #[test]
    fn every_version_only_upgrades() {
        let diff = PackageDiff::between(&demo_version(1).packages, &demo_version(2).packages);
        assert!(!diff.upgraded.is_empty() && diff.added.is_empty() && diff.removed.is_empty());
        for n in 3..40 {
            let (old, new) = (demo_version(n), demo_version(n + 1));
            let diff = PackageDiff::between(&old.packages, &new.packages);
            assert!(
                (5..=13).contains(&diff.upgraded.len()),
                "{n}: {}",
                diff.summary()
            );
            assert!(diff.added.is_empty() && diff.removed.is_empty() && diff.downgraded.is_empty());
            // A new kernel every other version.
            assert_eq!(old.kernel != new.kernel, (n + 1).is_multiple_of(2), "{n}");
        }
    }

    #[test]
    fn kernel_field_matches_the_kernel_package() {
        for n in 1..=12 {
            let v = demo_version(n);
            let names: BTreeSet<&str> = v.packages.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names.len(), v.packages.len(), "one build per package");
            assert!((55..=80).contains(&v.packages.len()));
            let evrs: BTreeSet<String> = v
                .packages
                .iter()
                .filter(|p| KERNEL_PACKAGES.contains(&p.name.as_str()))
                .map(|p| format!("{}-{}.{}", p.version, p.release, p.arch))
                .collect();
            assert_eq!(evrs, BTreeSet::from([v.kernel.clone()]), "{n}");
        }
    }

    #[test]
    fn trees_are_well_formed() {
        for n in 1..=6 {
            let v = demo_version(n);
            let tree = os_tree(&v);
            assert!(
                (400..=800).contains(&tree.len()),
                "{n}: {} files",
                tree.len()
            );
            let all = paths(&tree);
            assert_eq!(all.len(), tree.len(), "paths are unique");
            for file in &tree {
                let path = &file.path;
                assert!(path.starts_with("usr/"), "{path}");
                assert!(
                    path.split('/')
                        .all(|c| !c.is_empty() && c != "." && c != ".."),
                    "{path}"
                );
                match &file.contents {
                    FileContents::Regular(_) => assert_eq!(file.mode & !0o777, 0, "{path}"),
                    FileContents::Symlink(_) => assert_eq!(file.mode, 0o777, "{path}"),
                }
                // No file is also a folder.
                let mut parent = path.as_str();
                while let Some((dir, _)) = parent.rsplit_once('/') {
                    assert!(!all.contains(dir), "{dir} is both a file and a folder");
                    parent = dir;
                }
            }
        }
    }

    /// Every symlink points at a file of the same tree, reading usr/etc as the /etc it becomes.
    #[test]
    fn symlinks_resolve() {
        let tree = os_tree(&demo_version(3));
        let all = paths(&tree);
        for file in &tree {
            let FileContents::Symlink(target) = &file.contents else {
                continue;
            };
            let deployed = file
                .path
                .strip_prefix("usr/")
                .filter(|p| p.starts_with("etc/"));
            let mut parts: Vec<&str> = deployed.unwrap_or(&file.path).split('/').collect();
            parts.pop();
            for part in target.split('/') {
                if part == ".." {
                    parts.pop();
                } else {
                    parts.push(part);
                }
            }
            let mut resolved = parts.join("/");
            if resolved.starts_with("etc/") {
                resolved.insert_str(0, "usr/");
            }
            assert!(all.contains(resolved.as_str()), "{} -> {target}", file.path);
        }
    }

    #[test]
    fn os_release_and_etc() {
        let v = demo_version(3);
        let tree = os_tree(&v);
        let release = text(&tree, "usr/lib/os-release");
        for line in [
            "NAME=\"Keel Demo OS\"",
            "ID=keeldemo",
            "ID_LIKE=fedora",
            "VERSION_ID=41",
            "VERSION=\"41.20261125.0 (Keel Demo OS)\"",
            "PRETTY_NAME=\"Keel Demo OS 41 (41.20261125.0)\"",
            "HOME_URL=\"https://github.com/keelapp/keel\"",
        ] {
            assert!(release.lines().any(|l| l == line), "{line}");
        }
        let os_release = tree
            .iter()
            .find(|f| f.path == "usr/etc/os-release")
            .unwrap();
        assert_eq!(
            os_release.contents,
            FileContents::Symlink("../usr/lib/os-release".into())
        );
        let modes: BTreeMap<&str, u32> = tree.iter().map(|f| (f.path.as_str(), f.mode)).collect();
        for (path, mode) in [
            ("usr/etc/hostname", 0o644),
            ("usr/etc/passwd", 0o644),
            ("usr/etc/group", 0o644),
            ("usr/etc/shadow", 0o640),
            ("usr/etc/motd", 0o644),
            ("usr/etc/fstab", 0o644),
            ("usr/etc/sudoers", 0o440),
            ("usr/bin/bash", 0o755),
        ] {
            assert_eq!(modes.get(path), Some(&mode), "{path}");
        }
        let conf = text(&tree, "usr/etc/keel-demo.conf");
        assert!(
            conf.contains("Version=41.20261125.0\nDate=2026-11-25\n"),
            "{conf}"
        );
        let db = text(&tree, "usr/lib/sysimage/rpm-ostree-base-db/Packages");
        assert!(
            v.packages
                .iter()
                .all(|p| db.lines().any(|l| l == p.nevra()))
        );
        // The removed package's files went with it; the added one's came.
        assert!(!all_paths_contain(&tree, "nano-default-editor"));
        assert!(paths(&tree).contains("usr/bin/fastfetch"));
        assert!(all_paths_contain(
            &os_tree(&demo_version(2)),
            "nano-default-editor"
        ));
    }

    fn all_paths_contain(tree: &[TreeFile], needle: &str) -> bool {
        tree.iter().any(|f| f.path.contains(needle))
    }

    #[test]
    fn kernel_files_exist() {
        for n in 1..=5 {
            let v = demo_version(n);
            let tree = os_tree(&v);
            for name in ["vmlinuz", "initramfs.img"] {
                let path = format!("usr/lib/modules/{}/{name}", v.kernel);
                assert!(text(&tree, &path).contains(&v.kernel), "{path}");
            }
            let kernels: BTreeSet<&str> = tree
                .iter()
                .filter_map(|f| f.path.strip_prefix("usr/lib/modules/"))
                .filter_map(|p| p.split('/').next())
                .collect();
            assert_eq!(kernels, BTreeSet::from([v.kernel.as_str()]));
        }
    }

    #[test]
    fn package_docs_follow_the_package() {
        let (v2, v3) = (demo_version(2), demo_version(3));
        let (t2, t3) = (os_tree(&v2), os_tree(&v3));
        for v in [&v2, &v3] {
            let tree = if v.number == 2 { &t2 } else { &t3 };
            for p in &v.packages {
                let readme = text(tree, &format!("usr/share/doc/{}/README", p.name));
                assert!(readme.contains(&p.nevra()));
            }
        }
        // Unchanged packages keep identical files, so commits share their objects.
        assert_eq!(text(&t2, "usr/bin/bash"), text(&t3, "usr/bin/bash"));
        assert_ne!(
            text(&t2, "usr/bin/systemctl"),
            text(&t3, "usr/bin/systemctl")
        );
    }

    /// No table row names a package that no version has.
    #[test]
    fn table_owners_are_packages() {
        let known: BTreeSet<&str> = PACKAGES.iter().map(|row| row.0).collect();
        let owners = SYMLINKS
            .iter()
            .map(|r| r.0)
            .chain(LIBRARIES.iter().map(|r| r.0))
            .chain(UNITS.iter().map(|r| r.0))
            .chain(DESKTOP_FILES.iter().map(|r| r.0))
            .chain(ETC_FILES.iter().map(|r| r.0))
            .chain(UPGRADES_IN_2.iter().chain(UPGRADES_IN_3).map(|r| r.0))
            .chain(KERNEL_PACKAGES);
        for owner in owners {
            assert!(known.contains(owner), "{owner}");
        }
    }

    #[test]
    fn layer_packages_are_extras() {
        let layers = layer_packages();
        assert!((6..=8).contains(&layers.len()));
        let base: BTreeSet<&str> = PACKAGES.iter().map(|row| row.0).collect();
        let trees: Vec<Vec<TreeFile>> = (1..=12).map(|n| os_tree(&demo_version(n))).collect();
        let mut seen = BTreeSet::new();
        for layer in &layers {
            let p = &layer.package;
            assert!(!base.contains(p.name.as_str()), "{} is in the base", p.name);
            assert!(p.arch == "x86_64" || p.arch == "noarch");
            assert!(!layer.summary.is_empty() && !layer.summary.contains('\n'));
            let readme = text(&layer.files, &format!("usr/share/doc/{}/README", p.name));
            assert!(readme.contains(&p.nevra()));
            assert!(
                layer
                    .files
                    .iter()
                    .any(|f| f.path.starts_with("usr/bin/") && f.mode == 0o755)
            );
            for file in &layer.files {
                assert!(seen.insert(file.path.clone()), "{} twice", file.path);
                for tree in &trees {
                    assert!(!paths(tree).contains(file.path.as_str()), "{}", file.path);
                }
            }
        }
        let vim = layers
            .iter()
            .find(|l| l.package.name == "vim-enhanced")
            .unwrap();
        assert_eq!(vim.package.nevra(), "vim-enhanced-2:9.1.785-1.fc41.x86_64");
    }
}
