/*
 * cli.h: `roomcast-server publish ROOM JSON`, an operator's way to post
 * into a room from a shell through the server API, with the status
 * address and the API key read from the same config the server reads.
 */
#ifndef CLI_H
#define CLI_H

/*
 * Runs the publish command on @argc/@argv (argv[0] is "publish").
 * Returns the process exit status: 0 when the API answered 2xx, 1 when
 * it answered an error or could not be reached, 2 for a bad command line.
 */
int cli_publish(int argc, char **argv);

#endif
