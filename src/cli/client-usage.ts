// Usage text of `mqtt-hub pub` and `mqtt-hub sub`, laid out like mosquitto_pub's and mosquitto_sub's.
import type { Tool } from './client-args';
import { packageVersion } from './main';

const common = ` -c : disable clean session/enable persistent client mode. The client id must be given with -i.
      MQTT v5 clients can change their session expiry interval with -x.
 -d : enable debug messages: every packet sent and received.
 -D : define an MQTT v5 property: -D command identifier value, or -D command user-property name value.
      Commands: connect, %COMMANDS%, disconnect, will. Using -D selects MQTT v5 unless -V says otherwise.
 -h : mqtt host to connect to. Defaults to localhost.
 -i : id to use for this client. Defaults to a random id for MQTT 3.1/3.1.1; MQTT v5 lets the broker assign one.
 -I : define the client id as id_prefix appended with the process id.
 -k : keep alive in seconds for this client. Defaults to 60; 0 turns it off.
 -L : specify user, password, hostname, port and topic as a URL in the form:
      mqtt(s)://[username[:password]@]host[:port]/topic
      or, over WebSocket (topic given with -t): ws(s)://[username[:password]@]host[:port][/path]
 -p : network port to connect to. Defaults to 1883 for plain MQTT and 8883 for MQTT over TLS.
 -P : provide a password
 -q : quality of service level to use%QOS%. Defaults to 0.
 -u : provide a username
 -V : specify the version of the MQTT protocol to use when connecting.
      Can be mqttv5, mqttv311 or mqttv31 (or 5, 311, 31). Defaults to mqttv311.
 -x : set the session-expiry-interval property on the CONNECT packet (MQTT v5 only), 0-4294967294 seconds,
      or -1, 4294967295 or ∞ for a session that does not expire. Defaults to -1 with -c, else 0.
 --help : display this message.
 --version : print the version and exit.
 --quiet : don't print error messages.
 --will-payload : payload for the client Will. If not given and will-topic is set, a zero length message is sent.
 --will-qos : QoS level for the client Will.
 --will-retain : if given, make the client Will retained.
 --will-topic : the topic on which to publish the client Will.
 --cafile : path to a file containing trusted CA certificates to enable encrypted communication.
 --capath : path to a directory containing trusted CA certificates (*.crt, *.pem) to enable encrypted communication.
 --cert : client certificate for authentication, if required by server.
 --key : client private key for authentication, if required by server.
 --insecure : do not check that the server certificate hostname matches the remote hostname (the certificate
      chain is still verified). You cannot then be sure the remote host is the server you wish to connect to.
      Do not use this in production.
 --tls-alpn : TLS ALPN protocol to offer.
 --tls-version : lowest TLS protocol version to use: tlsv1.3, tlsv1.2 or tlsv1.1. Defaults to tlsv1.2.
 --tls-use-os-certs : trust the CA certificates Node.js ships with.
`;

const pubUsage = `mqtt-hub pub is a simple mqtt client that will publish a message on a single topic and exit.

Usage: mqtt-hub pub {[-h host] [-p port] [-u username] [-P password] -t topic | -L URL}
                    {-f file | -l | -n | -m message | -s}
                    [-c] [-k keepalive] [-q qos] [-r] [--repeat N] [--repeat-delay time] [-x session-expiry]
                    [-i id] [-I id_prefix]
                    [-d] [--quiet]
                    [-V protocol-version]
                    [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                    [{--cafile file | --capath dir} [--cert file] [--key file] [--insecure] [--tls-alpn protocol] [--tls-version version]]
                    [-D command identifier value]
       mqtt-hub pub --help

 -f : send the contents of a file as the message.
 -l : read messages from stdin, sending a separate message for each line.
 -m : message payload to send.
 -n : send a null (zero length) message.
 -r : message should be retained.
 -s : read message from stdin, sending the entire input as a message.
 -t : mqtt topic to publish to.
 --repeat : if publish mode is -f, -m, -n or -s, then repeat the publish N times.
 --repeat-delay : if using --repeat, wait time seconds between publishes. Defaults to 0.
${common.replace('%COMMANDS%', 'publish').replace('%QOS%', ' for all messages')}`;

const subUsage = `mqtt-hub sub is a simple mqtt client that will subscribe to a set of topics and print all messages it receives.

Usage: mqtt-hub sub {[-h host] [-p port] [-u username] [-P password] -t topic | -L URL [-t topic]}
                    [-c] [-k keepalive] [-q qos] [-x session-expiry-interval]
                    [-C msg_count] [-E] [-R] [--retained-only] [--remove-retained] [-T filter_out] [-U topic ...]
                    [-F format] [--pretty]
                    [-W timeout_secs]
                    [-i id] [-I id_prefix]
                    [-d] [-N] [--quiet] [-v]
                    [-V protocol-version] [--nl] [--rap] [--rh 0|1|2]
                    [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                    [{--cafile file | --capath dir} [--cert file] [--key file] [--insecure] [--tls-alpn protocol] [--tls-version version]]
                    [-D command identifier value]
       mqtt-hub sub --help

 -C : disconnect and exit after receiving the 'msg_count' messages.
 -E : exit once all subscriptions have been acknowledged by the broker.
 -F : output format: %t topic, %p payload, %x/%X payload in hex, %l length, %q QoS, %r retained, %m message id,
      %C content-type, %R response-topic, %P user properties, %E message-expiry-interval, %F payload-format-indicator,
      %D correlation-data, %A topic-alias, %S subscription-identifier, %I ISO 8601 time, %U Unix time, %j/%J JSON,
      %% a literal %; @X strftime conversions, @N nanoseconds, @@ a literal @; escapes \\\\ \\0 \\a \\e \\n \\r \\t \\v.
 -N : do not add an end of line character when printing the payload.
 -R : do not print stale messages (those with retain set).
 -t : mqtt topic to subscribe to. May be repeated multiple times.
 -T : topic string to filter out of results. May be repeated.
 -U : unsubscribe from a topic. May be repeated.
 -v : print published messages verbosely ("topic payload").
 -W : specifies a timeout in seconds how long to process incoming MQTT messages; exit code 27 when it runs out.
 --nl : MQTT v5 No Local subscription option: do not receive our own publications.
 --rap : MQTT v5 Retain As Published subscription option.
 --rh : MQTT v5 Retain Handling: 0 send retained messages, 1 only for a new subscription, 2 never.
 --pretty : print formatted output rather than minimised output when using %j or %J.
 --retained-only : only handle messages with the retained flag set, and exit when the first non-retained message is received.
 --remove-retained : send a message to the server to clear any received retained messages. Use -T to spare some.
${common.replace('%COMMANDS%', 'subscribe, unsubscribe').replace('%QOS%', ' for the subscription')}`;

export function usage(tool: Tool): string {
  return (tool === 'pub' ? pubUsage : subUsage) + '\nSee https://mosquitto.org/ for the tools these follow.\n';
}

export function versionLine(tool: Tool): string {
  return `mqtt-hub ${tool} version ${packageVersion()}\n`;
}
