// Kubernetes API objects as svcspec keeps them: the v1 / discovery.k8s.io/v1 shapes, trimmed to
// the fields that matter to Service networking. Field names are the API's own, so a manifest
// parsed from YAML is already one of these (after validation).

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
}

export type Protocol = "TCP" | "UDP" | "SCTP";

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  /** A number, or the name of a container port (resolved by the EndpointSlice controller). */
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";

export interface ServiceSpec {
  type?: ServiceType;
  selector?: Record<string, string>;
  ports?: ServicePort[];
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  externalIPs?: string[];
  externalName?: string;
  externalTrafficPolicy?: "Cluster" | "Local";
  internalTrafficPolicy?: "Cluster" | "Local";
  healthCheckNodePort?: number;
  loadBalancerIP?: string;
  loadBalancerSourceRanges?: string[];
  allocateLoadBalancerNodePorts?: boolean;
  sessionAffinity?: "None" | "ClientIP";
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  publishNotReadyAddresses?: boolean;
  trafficDistribution?: string;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: "VIP" | "Proxy";
}

export interface Service {
  apiVersion?: "v1";
  kind?: "Service";
  metadata: ObjectMeta;
  spec: ServiceSpec;
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
}

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  nodeName?: string;
  hostname?: string;
  targetRef?: { kind?: string; name?: string; namespace?: string };
  zone?: string;
}

export interface EndpointPort {
  name?: string | null;
  protocol?: Protocol;
  port?: number | null;
  appProtocol?: string;
}

export interface EndpointSlice {
  apiVersion?: "discovery.k8s.io/v1";
  kind?: "EndpointSlice";
  metadata: ObjectMeta; // labels["kubernetes.io/service-name"] names the Service
  addressType: "IPv4" | "IPv6" | "FQDN";
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

/** Legacy core/v1 Endpoints (what `kubectl get endpoints` shows; accepted in manifests). */
export interface Endpoints {
  apiVersion?: "v1";
  kind?: "Endpoints";
  metadata: ObjectMeta;
  subsets?: Array<{
    addresses?: Array<{ ip: string; nodeName?: string; hostname?: string; targetRef?: { kind?: string; name?: string } }>;
    notReadyAddresses?: Array<{ ip: string; nodeName?: string; hostname?: string; targetRef?: { kind?: string; name?: string } }>;
    ports?: Array<{ name?: string; port: number; protocol?: Protocol }>;
  }>;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
}

export interface PodSpecK8s {
  nodeName?: string;
  hostNetwork?: boolean;
  containers: Array<{ name: string; image?: string; ports?: ContainerPort[] }>;
}

export interface Pod {
  apiVersion?: "v1";
  kind?: "Pod";
  metadata: ObjectMeta;
  spec: PodSpecK8s;
  status?: { podIP?: string; phase?: string; conditions?: Array<{ type: string; status: string }> };
}

export interface Deployment {
  apiVersion?: "apps/v1";
  kind?: "Deployment";
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpecK8s };
  };
}

export interface Namespace {
  apiVersion?: "v1";
  kind?: "Namespace";
  metadata: ObjectMeta;
}

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
