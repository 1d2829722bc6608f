/* Canonical ros2msg schema texts of the known messages, laid out as rosbag2 writes an MCAP
 * schema: the main definition, then each dependency after a line of '=' and "MSG: pkg/Type".
 * Written from the ROS 2 interface definitions (common_interfaces, foxglove_msgs); comments
 * are left out, default values kept where the definitions carry them. */
#include "tw_ros2.h"

#include <stdbool.h>

#define R2_SEP "================================================================================\n"
#define R2_DEF_TIME R2_SEP "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n"
#define R2_DEF_DURATION R2_SEP "MSG: builtin_interfaces/Duration\nint32 sec\nuint32 nanosec\n"
#define R2_DEF_HEADER R2_SEP "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n" R2_DEF_TIME
#define R2_DEF_VECTOR3 R2_SEP "MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z\n"

static const struct {
    const char *type, *text;
} r2_defs[TW_ROS2_KIND_COUNT] = {
    [TW_ROS2_JOINT_STATE] = {"sensor_msgs/msg/JointState",
        "std_msgs/Header header\n"
        "string[] name\n"
        "float64[] position\n"
        "float64[] velocity\n"
        "float64[] effort\n" R2_DEF_HEADER},
    [TW_ROS2_WRENCH_STAMPED] = {"geometry_msgs/msg/WrenchStamped",
        "std_msgs/Header header\n"
        "geometry_msgs/Wrench wrench\n" R2_DEF_HEADER R2_SEP
        "MSG: geometry_msgs/Wrench\n"
        "geometry_msgs/Vector3 force\n"
        "geometry_msgs/Vector3 torque\n" R2_DEF_VECTOR3},
    [TW_ROS2_IMU] = {"sensor_msgs/msg/Imu",
        "std_msgs/Header header\n"
        "geometry_msgs/Quaternion orientation\n"
        "float64[9] orientation_covariance\n"
        "geometry_msgs/Vector3 angular_velocity\n"
        "float64[9] angular_velocity_covariance\n"
        "geometry_msgs/Vector3 linear_acceleration\n"
        "float64[9] linear_acceleration_covariance\n" R2_DEF_HEADER R2_SEP
        "MSG: geometry_msgs/Quaternion\n"
        "float64 x 0\n"
        "float64 y 0\n"
        "float64 z 0\n"
        "float64 w 1\n" R2_DEF_VECTOR3},
    [TW_ROS2_COMPRESSED_IMAGE] = {"sensor_msgs/msg/CompressedImage",
        "std_msgs/Header header\n"
        "string format\n"
        "uint8[] data\n" R2_DEF_HEADER},
    [TW_ROS2_IMAGE] = {"sensor_msgs/msg/Image",
        "std_msgs/Header header\n"
        "uint32 height\n"
        "uint32 width\n"
        "string encoding\n"
        "uint8 is_bigendian\n"
        "uint32 step\n"
        "uint8[] data\n" R2_DEF_HEADER},
    [TW_ROS2_COMPRESSED_VIDEO] = {"foxglove_msgs/msg/CompressedVideo",
        "builtin_interfaces/Time timestamp\n"
        "string frame_id\n"
        "uint8[] data\n"
        "string format\n" R2_DEF_TIME},
    [TW_ROS2_FLOAT64_ARRAY] = {"std_msgs/msg/Float64MultiArray",
        "std_msgs/MultiArrayLayout layout\n"
        "float64[] data\n" R2_SEP
        "MSG: std_msgs/MultiArrayLayout\n"
        "std_msgs/MultiArrayDimension[] dim\n"
        "uint32 data_offset\n" R2_SEP
        "MSG: std_msgs/MultiArrayDimension\n"
        "string label\n"
        "uint32 size\n"
        "uint32 stride\n"},
    [TW_ROS2_JOINT_TRAJECTORY] = {"trajectory_msgs/msg/JointTrajectory",
        "std_msgs/Header header\n"
        "string[] joint_names\n"
        "trajectory_msgs/JointTrajectoryPoint[] points\n" R2_DEF_HEADER R2_SEP
        "MSG: trajectory_msgs/JointTrajectoryPoint\n"
        "float64[] positions\n"
        "float64[] velocities\n"
        "float64[] accelerations\n"
        "float64[] effort\n"
        "builtin_interfaces/Duration time_from_start\n" R2_DEF_DURATION},
};

const char *tw_ros2_schema_text(tw_ros2_kind k, const char **type_name)
{
    bool known = k > TW_ROS2_UNKNOWN && k < TW_ROS2_KIND_COUNT;
    if (type_name) *type_name = known ? r2_defs[k].type : NULL;
    return known ? r2_defs[k].text : NULL;
}
