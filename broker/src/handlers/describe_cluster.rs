//! DescribeCluster: this one node (broker and controller), and the cluster id.

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use super::metadata::{this_broker, ALL_CLUSTER_OPERATIONS};
use super::{Ctx, AUTHORIZED_OPERATIONS_OMITTED};

pub fn handle(ctx: &Ctx<'_>, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let broker = ctx.broker;
    let (host, port) = this_broker(broker, ctx.listener);
    let mut resp = DescribeClusterResponse::default()
        .with_cluster_id(StrBytes::from_string(broker.cluster_id.clone()))
        .with_controller_id(BrokerId(broker.node_id))
        .with_brokers(vec![DescribeClusterBroker::default()
            .with_broker_id(BrokerId(broker.node_id))
            .with_host(StrBytes::from_string(host))
            .with_port(port)
            .with_rack(broker.config.rack().map(StrBytes::from_string))])
        .with_cluster_authorized_operations(if req.include_cluster_authorized_operations {
            ALL_CLUSTER_OPERATIONS
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        });
    if ctx.version() >= 1 {
        resp.endpoint_type = req.endpoint_type;
    }
    resp
}
