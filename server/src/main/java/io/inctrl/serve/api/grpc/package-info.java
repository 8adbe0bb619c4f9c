/** gRPC endpoints: thin adapters between the generated API types and the registry services. */
package io.inctrl.serve.api.grpc;
