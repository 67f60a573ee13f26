/*
 * roomcast_names.h: the names a config uses to turn roomcast on, for code
 * that reads configs without libwebsockets (server/conf.c) as well as the
 * glue.
 */
#ifndef ROOMCAST_NAMES_H
#define ROOMCAST_NAMES_H

/*
 * The subprotocol clients name is "roomcast.v1". Configs cannot name it:
 * lws 4.1.6's config reader splits JSON paths at '.', so a ws-protocols
 * key "roomcast.v1" is read as an option path and crashes lwsws and
 * lwsws_get_config_vhosts() alike. So the protocol is registered twice
 * with one callback: "roomcast" is the entry configs list (its per-vhost
 * options, and the default for clients naming no subprotocol), and
 * "roomcast.v1" the one lws binds clients that name it to.
 */
#define ROOMCAST_SUBPROTOCOL "roomcast.v1"
#define ROOMCAST_CONFIG_NAME "roomcast"

#endif
