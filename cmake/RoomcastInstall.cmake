# RoomcastInstall.cmake: install rules for a Linux server layout.
#
# include(cmake/RoomcastInstall.cmake) from the top-level CMakeLists.txt
# after the targets roomcast-server and protocol_roomcast are defined.
#
#   bin/roomcast-server
#   lib/roomcast/plugins/libprotocol_roomcast.so     (lwsws "plugin-dir")
#   share/roomcast/www/...                           (the page)
#   etc/roomcast/conf, etc/roomcast/conf.d/*         (lwsws-format config)
#   lib/systemd/system/roomcast.service, roomcast-lwsws.service
#
# Paths are relative to the prefix given at install time, so
# `cmake --install BUILD --prefix /some/dir` relocates everything, and the
# absolute paths written into files (mount origins, plugin-dir, units) are
# computed at install time from that prefix (DESTDIR is honoured and not
# written into files). Each *DIR cache variable may be set absolute instead
# (e.g. -DCMAKE_INSTALL_SYSCONFDIR=/etc for a /usr install).
#
# At install time the installed conf files are rewritten:
# - every mount origin "file://www..." or "file://./www..." (relative to the
#   working directory, see docs/LWSWS.md) becomes "file://<installed www>...";
#   any other relative file:// origin fails the install, since it would
#   resolve against whatever directory the service happens to run in;
# - the "global" object of etc/roomcast/conf gets "plugin-dir" set to the
#   installed plugin directory, which lwsws needs to find the plugin
#   (roomcast-server and lws's config reader accept and ignore it).

include(GNUInstallDirs)

# The repo root: this file lives in <root>/cmake.
get_filename_component(_rc_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

set(ROOMCAST_INSTALL_PLUGINDIR "lib/roomcast/plugins" CACHE STRING
	"Where libprotocol_roomcast.so goes (relative to the prefix, or absolute)")
set(ROOMCAST_INSTALL_WWWDIR "${CMAKE_INSTALL_DATADIR}/roomcast/www" CACHE STRING
	"Where www/ goes (relative to the prefix, or absolute)")
set(ROOMCAST_INSTALL_CONFDIR "${CMAKE_INSTALL_SYSCONFDIR}/roomcast" CACHE STRING
	"Where conf and conf.d/ go (relative to the prefix, or absolute)")
set(ROOMCAST_INSTALL_UNITDIR "lib/systemd/system" CACHE STRING
	"Where the systemd units go (relative to the prefix, or absolute)")

# lwsws is not installed by roomcast: scripts/lwsws.sh installs it under its
# own prefix. When roomcast is configured against that prefix
# (-DCMAKE_PREFIX_PATH=PREFIX) its lwsws is found next to the CMake config.
set(_rc_lwsws_default "/opt/roomcast-lwsws/bin/lwsws")
if(libwebsockets_DIR)
	get_filename_component(_rc_lws_prefix "${libwebsockets_DIR}/../../.."
		ABSOLUTE)
	if(EXISTS "${_rc_lws_prefix}/bin/lwsws")
		set(_rc_lwsws_default "${_rc_lws_prefix}/bin/lwsws")
	endif()
endif()
set(ROOMCAST_LWSWS "${_rc_lwsws_default}" CACHE FILEPATH
	"lwsws binary that roomcast-lwsws.service runs (see scripts/lwsws.sh)")

# If libwebsockets comes from outside the system library dirs (the lwsws
# prefix), the installed binaries keep its directory in their RUNPATH;
# otherwise the installed roomcast-server would load Debian's
# libwebsockets.so.17 (same SONAME, different build) against the headers
# of the other build. For Debian's own library this adds nothing.
set_target_properties(roomcast-server protocol_roomcast PROPERTIES
	INSTALL_RPATH_USE_LINK_PATH ON)

install(TARGETS roomcast-server
	RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(TARGETS protocol_roomcast
	LIBRARY DESTINATION "${ROOMCAST_INSTALL_PLUGINDIR}")
# www/README.md documents the page for developers; it is not served.
install(DIRECTORY "${_rc_root}/www/"
	DESTINATION "${ROOMCAST_INSTALL_WWWDIR}"
	PATTERN "README.md" EXCLUDE
	PATTERN "*~" EXCLUDE)
install(FILES "${_rc_root}/conf"
	DESTINATION "${ROOMCAST_INSTALL_CONFDIR}")
install(DIRECTORY "${_rc_root}/conf.d/"
	DESTINATION "${ROOMCAST_INSTALL_CONFDIR}/conf.d")

# Hand the configure-time values to the install-time code below.
install(CODE "
set(_rc_bindir \"${CMAKE_INSTALL_BINDIR}\")
set(_rc_plugindir \"${ROOMCAST_INSTALL_PLUGINDIR}\")
set(_rc_wwwdir \"${ROOMCAST_INSTALL_WWWDIR}\")
set(_rc_confdir \"${ROOMCAST_INSTALL_CONFDIR}\")
set(_rc_unitdir \"${ROOMCAST_INSTALL_UNITDIR}\")
set(_rc_lwsws \"${ROOMCAST_LWSWS}\")
set(_rc_unit_templates \"${_rc_root}/scripts/systemd/roomcast.service.in;${_rc_root}/scripts/systemd/roomcast-lwsws.service.in;${_rc_root}/scripts/systemd/roomcast-lwsws@.service.in\")
")

# Runs at install time: CMAKE_INSTALL_PREFIX is then the prefix given to
# `cmake --install --prefix`, if any.
install(CODE [[
function(_rc_full out dir)
	if(IS_ABSOLUTE "${dir}")
		set(${out} "${dir}" PARENT_SCOPE)
	else()
		set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
	endif()
endfunction()
_rc_full(ROOMCAST_FULL_BINDIR "${_rc_bindir}")
_rc_full(ROOMCAST_FULL_PLUGINDIR "${_rc_plugindir}")
_rc_full(ROOMCAST_FULL_WWWDIR "${_rc_wwwdir}")
_rc_full(ROOMCAST_FULL_CONFDIR "${_rc_confdir}")
_rc_full(_rc_full_unitdir "${_rc_unitdir}")
set(ROOMCAST_LWSWS "${_rc_lwsws}")

# 1. Mount origins: relative file://www -> absolute installed www dir.
file(GLOB _rc_confs "$ENV{DESTDIR}${ROOMCAST_FULL_CONFDIR}/conf"
	"$ENV{DESTDIR}${ROOMCAST_FULL_CONFDIR}/conf.d/*")
foreach(_f IN LISTS _rc_confs)
	if(IS_DIRECTORY "${_f}")
		continue()
	endif()
	file(READ "${_f}" _txt)
	# (CMake refuses \\N for a group that did not take part in the match:
	# hence ((...)?) rather than (...)?)
	string(REGEX REPLACE "\"file://(\\./)*www((/[^\"]*)?)\""
		"\"file://${ROOMCAST_FULL_WWWDIR}\\2\"" _new "${_txt}")
	string(REGEX MATCHALL "\"file://[^/\"][^\"]*\"" _bad "${_new}")
	if(_bad)
		message(FATAL_ERROR "roomcast install: ${_f} has relative file:// "
			"origins other than www: ${_bad} (they would resolve against "
			"the service's working directory; extend "
			"cmake/RoomcastInstall.cmake to map them)")
	endif()
	if(NOT _new STREQUAL _txt)
		message(STATUS "Rewrote file:// origins: ${_f}")
		file(WRITE "${_f}" "${_new}")
	endif()
endforeach()

# 2. global.plugin-dir in conf, for lwsws.
set(_f "$ENV{DESTDIR}${ROOMCAST_FULL_CONFDIR}/conf")
file(READ "${_f}" _txt)
if(_txt MATCHES "\"plugin-dir\"[ \t\r\n]*:[ \t\r\n]*\"[^\"]*\"")
	string(REGEX REPLACE "\"plugin-dir\"([ \t\r\n]*):([ \t\r\n]*)\"[^\"]*\""
		"\"plugin-dir\"\\1:\\2\"${ROOMCAST_FULL_PLUGINDIR}\"" _new "${_txt}")
elseif(_txt MATCHES "\"global\"[ \t\r\n]*:[ \t\r\n]*{")
	string(REGEX REPLACE "(\"global\"[ \t\r\n]*:[ \t\r\n]*{)"
		"\\1\n    \"plugin-dir\": \"${ROOMCAST_FULL_PLUGINDIR}\","
		_new "${_txt}")
else()
	message(FATAL_ERROR "roomcast install: ${_f} has no \"global\" object "
		"to put \"plugin-dir\" in")
endif()
# A "global" object that held nothing else must not end in a comma.
string(REGEX REPLACE "(\"plugin-dir\": \"[^\"]*\"),([ \t\r\n]*})" "\\1\\2"
	_new "${_new}")
if(NOT _new STREQUAL _txt)
	message(STATUS "Set plugin-dir ${ROOMCAST_FULL_PLUGINDIR}: ${_f}")
	file(WRITE "${_f}" "${_new}")
endif()

# 3. systemd units, with this prefix's absolute paths.
foreach(_t IN LISTS _rc_unit_templates)
	get_filename_component(_n "${_t}" NAME)
	string(REGEX REPLACE "\\.in$" "" _n "${_n}")
	set(_out "$ENV{DESTDIR}${_rc_full_unitdir}/${_n}")
	message(STATUS "Installing: ${_out}")
	# (the output keeps the template's permissions, 0644)
	configure_file("${_t}" "${_out}" @ONLY)
	# the manifest lists paths without DESTDIR, as CMake's own entries do
	list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${_rc_full_unitdir}/${_n}")
endforeach()
]])
