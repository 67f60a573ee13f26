#!/bin/bash
# lwsws.sh [PREFIX]: build lwsws (the libwebsockets web server) from Debian's
# own libwebsockets source package and install it, with its own
# libwebsockets.so, headers and CMake config, under PREFIX.
#
# Why: Debian 12's libwebsockets-dev 4.1.6-3 ships no lwsws and is built
# without protocol-plugin loading (LWS_WITH_PLUGINS off), so roomcast's
# plugin cannot be loaded by anything Debian ships. See docs/LWSWS.md.
#
# Default PREFIX: build/lwsws-prefix under the repo root.
# Runs as root on Debian 12; non-interactive; idempotent: when
# PREFIX/bin/lwsws and a stamp for the same source version and options exist,
# it prints the paths and exits 0 at once.
#
# Environment:
#   LWSWS_WORKDIR   where the source is unpacked and built
#                   (default: PREFIX.work, removed after a good install
#                   unless LWSWS_KEEP_WORKDIR=1)
#   LWSWS_JOBS      parallel build jobs (default 2)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${1:-$repo_root/build/lwsws-prefix}
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac
jobs=${LWSWS_JOBS:-2}
stamp=$prefix/share/roomcast-lwsws.stamp
export DEBIAN_FRONTEND=noninteractive

log() { printf 'lwsws.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The cmake options. The stamp records them, so changing them rebuilds.
# - LWS_WITH_LWSWS implies LWS_WITH_PLUGINS, LIBUV, LEJP_CONF,
#   SERVER_STATUS, ACCESS_LOG, PEER_LIMITS, RAW_PROXY
#   (CMakeLists-implied-options.txt); stated explicitly where asked for.
# - lws's own protocol plugins cannot be switched off one by one when
#   LWS_WITH_PLUGINS is on (plugins/CMakeLists.txt); instead they are never
#   built nor installed: only the targets below are built and only the
#   install components below are installed.
# - LWS_WITH_STATIC=OFF: the exported CMake targets then name only
#   websockets_shared (+ the libuv evlib plugin), all of which get installed.
# - ZLIB + extensions on, as in Debian's build (debian/rules), so lwsws
#   offers permessage-deflate like roomcast-server on Debian's library.
# - DISABLE_WERROR: OpenSSL 3 deprecation warnings (Debian's rules pass
#   -Wno-error=deprecated-declarations for the same reason).
# - CMAKE_INSTALL_RPATH: installed lwsws must load PREFIX's
#   libwebsockets.so.17, not Debian's (same SONAME, different build).
cmake_opts=(
	-DCMAKE_BUILD_TYPE=Release
	-DCMAKE_INSTALL_PREFIX="$prefix"
	-DCMAKE_INSTALL_RPATH="$prefix/lib"
	-DLWS_WITH_LWSWS=ON
	-DLWS_WITH_PLUGINS=ON
	-DLWS_WITH_LEJP_CONF=ON
	-DLWS_WITH_LIBUV=ON
	-DLWS_WITH_SSL=ON
	-DLWS_WITH_MBEDTLS=OFF
	-DLWS_WITH_SHARED=ON
	-DLWS_WITH_STATIC=OFF
	-DLWS_WITHOUT_TESTAPPS=ON
	-DLWS_WITH_MINIMAL_EXAMPLES=OFF
	-DLWS_WITH_ACME=OFF
	-DLWS_WITH_FTS=OFF
	-DLWS_IPV6=ON
	-DLWS_UNIX_SOCK=ON
	-DLWS_WITH_ZLIB=ON
	-DLWS_WITHOUT_EXTENSIONS=OFF
	-DLWS_CTEST_INTERNET_AVAILABLE=OFF
	-DLWS_REPRODUCIBLE=ON
	-DDISABLE_WERROR=ON
)
build_targets=(websockets_shared websockets-evlib_uv lwsws)
install_components=(core dev lwsws evlib_uv Unspecified)

# Packages needed to fetch, unpack and build (not `apt-get build-dep`, which
# would also pull libev, glib, debhelper...).
build_deps=(dpkg-dev patch cmake make gcc libc6-dev pkg-config libssl-dev
	libuv1-dev zlib1g-dev libcap-dev)

# One patch of roomcast's own on top of Debian's (whose debian/patches/series
# is all commented out in 4.1.6-3, so Debian applies none): lws 4.1.6's
# config reader cannot take a ws-protocols key containing a '.', such as
# "roomcast.v1" (lejp's "*" stops at '.', so the key matches
# "ws-protocols[].*.*"; no pvo is made and the first option dereferences a
# NULL pvo: lwsws's child dies with SIGSEGV in lejp_vhosts_cb). Without a
# pvo of that exact name, lwsws (LWS_SERVER_OPTION_EXPLICIT_VHOSTS) never
# enables the protocol on the vhost (lib/core-net/vhost.c), so roomcast.v1
# could not be served at all. LWSWS_DOTTED_PROTOCOL_PATCH=0 skips it.
dotted_patch=${LWSWS_DOTTED_PROTOCOL_PATCH:-1}
# A second patch, to lwsws/main.c: a graceful stop. lwsws 4.1.6 ignores
# SIGTERM in its root process (systemd's default stop signal) and, on
# SIGINT, destroys the serving child's context at once: clients see their
# sockets end without a close frame, and the root kills the child after a
# fixed 2 s. Patched, SIGTERM, SIGINT and SIGHUP (reload) make the child
# deprecate its context (listen sockets closed; lws_context_is_deprecated()
# is true) and cancel the service, so the plugin sees
# LWS_CALLBACK_EVENT_WAIT_CANCELLED on a deprecated context and closes every
# client with 1001; the child destroys its context once no connection is
# left, at most 4 s later. The root passes the signal on and waits for its
# children (at most 6 s). LWSWS_DRAIN_PATCH=0 skips it.
drain_patch=${LWSWS_DRAIN_PATCH:-1}

print_paths() {
	cat <<EOF
lwsws:          $prefix/bin/lwsws
libwebsockets:  $prefix/lib/libwebsockets.so
evlib plugin:   $prefix/lib/libwebsockets-evlib_uv.so
headers:        $prefix/include (libwebsockets.h, lws_config.h)
cmake config:   $prefix/lib/cmake/libwebsockets/libwebsockets-config.cmake
use:            cmake -DCMAKE_PREFIX_PATH=$prefix ...   (find_package(libwebsockets CONFIG))
EOF
}

[ "$(id -u)" = 0 ] || die "run as root (apt-get is needed)"

# PREFIX's libwebsockets.so.17 has the SONAME of Debian's, with another
# lws_config.h. In a directory the dynamic loader searches by itself
# (/usr/local/lib is in /etc/ld.so.conf.d/libc.conf) it would replace
# Debian's library for every program after the next ldconfig, including
# roomcast-server built against Debian's headers.
case ${prefix%/} in
"" | /usr | /usr/local)
	die "PREFIX $prefix would shadow Debian's libwebsockets.so.17; use e.g. /opt/roomcast-lwsws" ;;
esac
if grep -qsxF "$prefix/lib" /etc/ld.so.conf /etc/ld.so.conf.d/*.conf; then
	die "$prefix/lib is in the ld.so.conf search path; choose another PREFIX"
fi

# ---- version of the installed libwebsockets-dev ---------------------------
if ! dpkg-query -W -f='${Status}' libwebsockets-dev 2>/dev/null |
	grep -q 'install ok installed'; then
	log "libwebsockets-dev is not installed; installing it"
	apt-get update -q || log "apt-get update reported errors; going on"
	apt-get install -y -q --no-install-recommends libwebsockets-dev
fi
version=$(dpkg-query -W -f='${Version}' libwebsockets-dev)
case $version in
4.1.*) ;;
*) die "libwebsockets-dev is $version; this script expects 4.1.x" ;;
esac
stamp_text="libwebsockets=$version
options=${cmake_opts[*]}
targets=${build_targets[*]}
fixups=2 (include dirs in cmake config, no static .pc)
dotted-protocol-patch=$dotted_patch
drain-patch=$drain_patch (2)"

# ---- reuse a finished build --------------------------------------------------
if [ -x "$prefix/bin/lwsws" ] && [ -f "$stamp" ] &&
	[ "$(cat "$stamp")" = "$stamp_text" ]; then
	log "up to date ($version); nothing to do"
	print_paths
	exit 0
fi

# ---- deb-src entries ---------------------------------------------------------
# Print one line "type|opts|uri|suite|components|signedby"
# per (type, uri, suite) of the enabled APT sources, from both formats.
list_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '
		/^[ \t]*#/ || NF < 3 { next }
		$1 == "deb" || $1 == "deb-src" {
			t = $1; o = ""; i = 2
			if ($2 ~ /^\[/) {
				while (i <= NF && $i !~ /\]$/) { o = o $i " "; i++ }
				o = o $i; i++
			}
			u = $i; s = $(i + 1); c = ""
			for (j = i + 2; j <= NF; j++) c = c (c ? " " : "") $j
			printf "%s|%s|%s|%s|%s|\n", t, o, u, s, c
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
		function flush(  i, j, k, nt, nu, ns, T, U, S) {
			if (enabled != "no" && types != "") {
				nt = split(types, T, " "); nu = split(uris, U, " ")
				ns = split(suites, S, " ")
				for (i = 1; i <= nt; i++) for (j = 1; j <= nu; j++)
				for (k = 1; k <= ns; k++)
					printf "%s||%s|%s|%s|%s\n", T[i], U[j],
					    S[k], comps, signed
			}
			types = uris = suites = comps = signed = ""; enabled = ""
		}
		/^[ \t]*$/ { flush(); next }
		/^[ \t]*#/ { next }
		{
			key = tolower($1); sub(/:$/, "", key)
			val = $0; sub(/^[^:]*:[ \t]*/, "", val)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "suites") suites = val
			else if (key == "components") comps = val
			else if (key == "signed-by") signed = val
			else if (key == "enabled") enabled = tolower(val)
		}
		END { flush() }' "$f"
	done
}

# Does apt know the source package at exactly $version?
have_source_version() {
	apt-cache showsrc --only-source libwebsockets 2>/dev/null |
		grep -qx "Version: $version"
}

ensure_deb_src() {
	local codename srcs missing t o u s c sb out
	have_source_version && return 0
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
	srcs=$(list_sources)
	missing=""
	# Every Debian "deb" entry of this release (suite bookworm,
	# bookworm-updates, bookworm-security, ...) needs a deb-src twin with
	# the same URI and suite; third-party repos are left alone (their
	# Sources indexes usually do not exist and would fail apt-get update).
	# ('|', not a tab: read collapses runs of IFS whitespace, so an empty
	# field would shift the others)
	while IFS='|' read -r t o u s c sb; do
		[ "$t" = deb ] || continue
		case $s in "$codename" | "$codename"-*) ;; *) continue ;; esac
		if printf '%s\n' "$srcs" |
			awk -F'|' -v u="$u" -v s="$s" '
			$1 == "deb-src" && $3 == u && $4 == s { f = 1 }
			END { exit !f }'; then
			continue
		fi
		missing+="$o|$u|$s|$c|$sb"$'\n'
	done <<<"$srcs"

	if [ -n "$missing" ]; then
		out=/etc/apt/sources.list.d/roomcast-deb-src.sources
		log "adding deb-src entries in $out"
		{
			echo "# Added by roomcast scripts/lwsws.sh: Debian source"
			echo "# packages, for building lwsws from libwebsockets."
			while IFS='|' read -r o u s c sb; do
				[ -n "$u" ] || continue
				echo
				echo "Types: deb-src"
				echo "URIs: $u"
				echo "Suites: $s"
				echo "Components: ${c:-main}"
				# one-line entries keep their [signed-by=...] option
				if [ -z "$sb" ] && [[ $o =~ signed-by=([^] ]+) ]]; then
					sb=${BASH_REMATCH[1]}
				fi
				[ -n "$sb" ] && echo "Signed-By: $sb"
			done <<<"$missing"
		} >"$out.tmp"
		mv "$out.tmp" "$out"
	fi
	log "apt-get update"
	apt-get update -q || log "apt-get update reported errors; going on"
	have_source_version ||
		die "apt cannot find source package libwebsockets=$version" \
			"(check deb-src entries in /etc/apt/sources.list.d/)"
}

# ---- build dependencies --------------------------------------------------------
missing_pkgs=()
for p in "${build_deps[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing_pkgs+=("$p")
done
if [ ${#missing_pkgs[@]} -gt 0 ]; then
	log "installing build dependencies: ${missing_pkgs[*]}"
	if ! apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}"; then
		apt-get update -q || log "apt-get update reported errors; going on"
		apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}"
	fi
fi

ensure_deb_src

# ---- fetch and unpack (dpkg-source applies debian/patches) ----------------------
workdir=${LWSWS_WORKDIR:-$prefix.work}
upstream=${version%-*}
upstream=${upstream#*:}
srcdir=$workdir/libwebsockets-$upstream
builddir=$workdir/build
t0=$(date +%s)
rm -rf "$workdir"
mkdir -p "$workdir"
# apt downloads as the unprivileged _apt user when it can write the target
# dir (otherwise it warns and downloads as root).
if id _apt >/dev/null 2>&1; then
	chown _apt "$workdir" 2>/dev/null || true
fi
log "apt-get source libwebsockets=$version into $workdir"
(cd "$workdir" && apt-get source -q "libwebsockets=$version") ||
	die "apt-get source failed"
[ -f "$srcdir/CMakeLists.txt" ] || die "no $srcdir/CMakeLists.txt after unpack"
if [ "$dotted_patch" = 1 ]; then
	log "applying roomcast's lejp-conf patch (dotted ws-protocols names)"
	patch -d "$srcdir" -p1 --forward --batch <<'EOF_PATCH' ||
--- a/lib/roles/http/server/lejp-conf.c
+++ b/lib/roles/http/server/lejp-conf.c
@@ -463,12 +463,24 @@
 		memset(&a->m, 0, sizeof(a->m));
 	}
 
-	/* this catches, eg, vhosts[].ws-protocols[].xxx-protocol */
+	/*
+	 * this catches, eg, vhosts[].ws-protocols[].xxx-protocol
+	 *
+	 * roomcast: a protocol name with a '.' in it ("roomcast.v1") makes
+	 * the object start match "ws-protocols[].*.*" instead; options are
+	 * strings, never objects, so an object there is a protocol too. Its
+	 * name is the whole rest of the path.
+	 */
 	if (reason == LEJPCB_OBJECT_START &&
-	    ctx->path_match == LEJPVP_PROTOCOL_NAME + 1) {
+	    (ctx->path_match == LEJPVP_PROTOCOL_NAME + 1 ||
+	     ctx->path_match == LEJPVP_PROTOCOL_NAME_OPT + 1)) {
 		a->pvo = lwsws_align(a);
 		a->p += sizeof(*a->pvo);
 
+		if (ctx->path_match == LEJPVP_PROTOCOL_NAME_OPT + 1)
+			n = lws_snprintf(a->p, lws_ptr_diff(a->end, a->p), "%s",
+					 ctx->path + ctx->wild[0]) + 1;
+		else
 		n = lejp_get_wildcard(ctx, 0, a->p, lws_ptr_diff(a->end, a->p));
 		/* ie, enable this protocol, no options yet */
 		a->pvo->next = a->info->pvo;
@@ -738,10 +750,35 @@
 		 * vhosts[].ws-protocols[].xxx-protocol.yyy-option
 		 * ie, these are options attached to a protocol with { }
 		 */
+		/*
+		 * roomcast: no protocol object open in this vhost (a string
+		 * where an object was expected): reject the config instead of
+		 * dereferencing a NULL or stale pvo.
+		 */
+		if (!a->pvo || a->info->pvo != a->pvo) {
+			lwsl_err("%s: ws-protocols option outside a protocol object\n",
+				 __func__);
+			return -1;
+		}
 		pvo = lwsws_align(a);
 		a->p += sizeof(*a->pvo);
 
-		n = lejp_get_wildcard(ctx, 1, a->p, lws_ptr_diff(a->end, a->p));
+		/*
+		 * roomcast: for a protocol name with a '.', the option name
+		 * is what follows "<name>." in the path, not wildcard 1.
+		 */
+		{
+			const char *rest = ctx->path + ctx->wild[0];
+			size_t nl = strlen(a->pvo->name);
+
+			if (!strncmp(rest, a->pvo->name, nl) && rest[nl] == '.')
+				n = lws_snprintf(a->p,
+					lws_ptr_diff(a->end, a->p), "%s",
+					rest + nl + 1) + 1;
+			else
+				n = lejp_get_wildcard(ctx, 1, a->p,
+					lws_ptr_diff(a->end, a->p));
+		}
 		/* ie, enable this protocol, no options yet */
 		pvo->next = a->pvo->options;
 		a->pvo->options = pvo;
EOF_PATCH
		die "patch for dotted ws-protocols names did not apply"
fi
if [ "$drain_patch" = 1 ]; then
	log "applying roomcast's lwsws patch (SIGTERM, drain before destroy)"
	patch -d "$srcdir" -p1 --forward --batch <<'EOF_PATCH' ||
--- a/lwsws/main.c
+++ b/lwsws/main.c
@@ -48,6 +48,8 @@
 #endif
 
 #include <libwebsockets.h>
+/* roomcast: count_wsi_allocated, to end a drain once no connection is left */
+#include "private-lib-core.h"
 
 #include <uv.h>
 
@@ -60,7 +62,19 @@
 static char config_dir[128], default_plugin_path = 1;
 static int opts = 0, do_reload = 1;
 static uv_loop_t loop;
-static uv_signal_t signal_outer[2];
+static uv_signal_t signal_outer[3];
+/*
+ * roomcast: SIGTERM/SIGINT drain before the context is destroyed. The
+ * context is deprecated (listen sockets closed, lws_context_is_deprecated()
+ * true) and the service cancelled, so protocol plugins see
+ * LWS_CALLBACK_EVENT_WAIT_CANCELLED on a deprecated context and can close
+ * their connections properly; the context is destroyed once no connection
+ * is left, or after LWSWS_DRAIN_MS.
+ */
+#define LWSWS_DRAIN_MS 4000
+static uv_timer_t drain_timer;
+static uint64_t drain_start;
+static char draining;
 static int pids[32];
 void lwsl_emit_stderr(int level, const char *line);
 
@@ -94,29 +108,45 @@
 };
 #endif
 
+static void
+drain_check(uv_timer_t *t)
+{
+	/* only each service thread's cancel pipe left: every connection gone */
+	if (context->count_wsi_allocated > context->count_threads &&
+	    uv_now(&loop) - drain_start < LWSWS_DRAIN_MS)
+		return;
+	lwsl_notice("Drained, destroying context\n");
+	uv_timer_stop(t);
+	uv_close((uv_handle_t *)t, NULL);
+	uv_signal_stop(&signal_outer[0]);
+	uv_signal_stop(&signal_outer[1]);
+	uv_signal_stop(&signal_outer[2]);
+	lws_context_destroy(context);
+}
+
 void signal_cb(uv_signal_t *watcher, int signum)
 {
 	switch (watcher->signum) {
 	case SIGTERM:
 	case SIGINT:
+	case SIGHUP:	/* a reload: the new child serves, this one drains */
 		break;
 
-	case SIGHUP:
-		if (lws_context_is_deprecated(context))
-			return;
-		lwsl_notice("Dropping listen sockets\n");
-		lws_context_deprecate(context, NULL);
-		return;
-
 	default:
 		signal(SIGABRT, SIG_DFL);
 		abort();
 		break;
 	}
-	lwsl_err("Signal %d caught\n", watcher->signum);
-	uv_signal_stop(watcher);
-	uv_signal_stop(&signal_outer[1]);
-	lws_context_destroy(context);
+	if (draining)	/* a repeated signal: the deadline stands */
+		return;
+	lwsl_notice("Signal %d caught, dropping listen sockets, draining\n",
+		    watcher->signum);
+	draining = 1;
+	lws_context_deprecate(context, NULL);
+	lws_cancel_service(context);
+	drain_start = uv_now(&loop);
+	uv_timer_init(&loop, &drain_timer);
+	uv_timer_start(&drain_timer, drain_check, 50, 50);
 }
 
 static void
@@ -204,7 +234,7 @@
 reload_handler(int signum)
 {
 #ifndef _WIN32
-	int m;
+	int m, n;
 
 	switch (signum) {
 
@@ -222,12 +252,30 @@
 	case SIGINT:
 	case SIGTERM:
 	case SIGKILL:
-		fprintf(stderr, "master process waiting 2s...\n");
-		sleep(2); /* give children a chance to deal with the signal */
-		fprintf(stderr, "killing service processes\n");
+		/*
+		 * roomcast: pass the signal on (systemd may signal only us)
+		 * and wait for the children's drain, at most
+		 * LWSWS_DRAIN_MS + 2 s, before killing what is left.
+		 */
+		fprintf(stderr, "master process waiting for children...\n");
 		for (m = 0; m < (int)LWS_ARRAY_SIZE(pids); m++)
 			if (pids[m])
 				kill(pids[m], SIGTERM);
+		for (n = 0; n < (LWSWS_DRAIN_MS + 2000) / 50; n++) {
+			for (m = 0; m < (int)LWS_ARRAY_SIZE(pids); m++)
+				if (pids[m] && waitpid(pids[m], NULL, WNOHANG))
+					pids[m] = 0;
+			for (m = 0; m < (int)LWS_ARRAY_SIZE(pids); m++)
+				if (pids[m])
+					break;
+			if (m == (int)LWS_ARRAY_SIZE(pids))
+				exit(0);
+			usleep(50000);
+		}
+		fprintf(stderr, "killing service processes\n");
+		for (m = 0; m < (int)LWS_ARRAY_SIZE(pids); m++)
+			if (pids[m])
+				kill(pids[m], SIGKILL);
 		exit(0);
 	}
 #else
@@ -280,6 +328,7 @@
 
 	signal(SIGHUP, reload_handler);
 	signal(SIGINT, reload_handler);
+	signal(SIGTERM, reload_handler);	/* roomcast: as SIGINT */
 
 	fprintf(stderr, "Root process is %u\n", (unsigned int)getpid());
 
@@ -329,6 +378,8 @@
 	uv_signal_start(&signal_outer[0], signal_cb, SIGINT);
 	uv_signal_init(&loop, &signal_outer[1]);
 	uv_signal_start(&signal_outer[1], signal_cb, SIGHUP);
+	uv_signal_init(&loop, &signal_outer[2]);
+	uv_signal_start(&signal_outer[2], signal_cb, SIGTERM);
 
 	if (context_creation()) {
 		lwsl_err("Context creation failed\n");
@@ -339,7 +390,7 @@
 
 	lwsl_err("%s: closing\n", __func__);
 
-	for (n = 0; n < 2; n++) {
+	for (n = 0; n < 3; n++) {
 		uv_signal_stop(&signal_outer[n]);
 		uv_close((uv_handle_t *)&signal_outer[n], NULL);
 	}
EOF_PATCH
		die "patch for lwsws's graceful stop did not apply"
fi
# apt-get source runs as root and downloads as user _apt where possible;
# the files are ours now.

# ---- configure, build, install -----------------------------------------------
# GIT_CEILING_DIRECTORIES: lws's CMakeLists runs `git describe` in its
# source dir; without this it would describe the enclosing roomcast repo.
export GIT_CEILING_DIRECTORIES=$workdir
log "configuring"
cmake -S "$srcdir" -B "$builddir" "${cmake_opts[@]}" >"$workdir/cmake.log" 2>&1 ||
	{ tail -40 "$workdir/cmake.log" >&2; die "cmake configure failed (log: $workdir/cmake.log)"; }
grep -q '^LWS_WITH_PLUGINS:BOOL=ON' "$builddir/CMakeCache.txt" ||
	die "LWS_WITH_PLUGINS did not stay on"
log "building ${build_targets[*]} with -j$jobs"
cmake --build "$builddir" -j"$jobs" --target "${build_targets[@]}" \
	>"$workdir/build.log" 2>&1 ||
	{ tail -40 "$workdir/build.log" >&2; die "build failed (log: $workdir/build.log)"; }

rm -rf "$prefix"
for comp in "${install_components[@]}"; do
	cmake --install "$builddir" --component "$comp" >>"$workdir/install.log" 2>&1 ||
		{ tail -20 "$workdir/install.log" >&2; die "install of component $comp failed"; }
done
for f in bin/lwsws lib/libwebsockets.so.17 lib/libwebsockets-evlib_uv.so \
	include/libwebsockets.h include/lws_config.h \
	lib/cmake/libwebsockets/libwebsockets-config.cmake \
	lib/cmake/libwebsockets/LibwebsocketsTargets.cmake; do
	[ -e "$prefix/$f" ] || die "install incomplete: $prefix/$f missing"
done
# No static library was built, so no pkg-config file for one (Debian's
# rules drop it too).
rm -f "$prefix/lib/pkgconfig/libwebsockets_static.pc"
# lws 4.1.6's exported websockets_shared target carries no include
# directories and its config sets LIBWEBSOCKETS_INCLUDE_DIRS to "": a
# consumer then silently compiles against /usr/include's Debian headers
# (another lws_config.h: no LWS_WITH_PLUGINS, no PEER_LIMITS, so a different
# struct lws_context_creation_info) while linking PREFIX's library. Make
# find_package(libwebsockets CONFIG) from PREFIX carry PREFIX/include.
cat >>"$prefix/lib/cmake/libwebsockets/libwebsockets-config.cmake" <<'EOF_CMAKE'

# Added by roomcast scripts/lwsws.sh: point consumers at this prefix's
# headers (lws 4.1.6 exports its targets without include directories, so
# /usr/include's Debian headers would be used against this library).
get_filename_component(_roomcast_lws_inc "${LWS_CMAKE_DIR}/../../../include" ABSOLUTE)
set(LIBWEBSOCKETS_INCLUDE_DIRS "${_roomcast_lws_inc}")
foreach(_roomcast_t websockets_shared websockets-evlib_uv)
	if (TARGET ${_roomcast_t})
		set_property(TARGET ${_roomcast_t} APPEND PROPERTY
			INTERFACE_INCLUDE_DIRECTORIES "${_roomcast_lws_inc}")
	endif()
endforeach()
EOF_CMAKE
grep -q '^#define LWS_WITH_PLUGINS$' "$prefix/include/lws_config.h" ||
	die "installed lws_config.h lacks LWS_WITH_PLUGINS"
# lwsws must resolve libwebsockets.so.17 to PREFIX's copy.
resolved=$(ldd "$prefix/bin/lwsws" | awk '$1 == "libwebsockets.so.17" { print $3 }')
[ "$resolved" = "$prefix/lib/libwebsockets.so.17" ] ||
	die "lwsws resolves libwebsockets.so.17 to '$resolved', not $prefix/lib"

mkdir -p "$(dirname "$stamp")"
printf '%s\n' "$stamp_text" >"$stamp"
t1=$(date +%s)
log "built and installed in $((t1 - t0)) s"
if [ "${LWSWS_KEEP_WORKDIR:-0}" != 1 ]; then
	rm -rf "$workdir"
fi
print_paths
