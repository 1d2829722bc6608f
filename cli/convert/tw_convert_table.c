/* The converters `tw import` and `tw export` know. Each format's helper adds its rows here. */
#include <stddef.h>

#include "tw_convert.h"

int tw_import_robomimic(int argc, char **argv);
int tw_import_lerobot(int argc, char **argv);
const tw_converter tw_importers[] = {
    {"lerobot", "LeRobot dataset (v3.0, v2.1) -> episodes", tw_import_lerobot},
    {"robomimic", "robomimic HDF5 (data/demo_N) -> episodes", tw_import_robomimic},
    {"mcap", "ROS 2 bags (rosbag2 directories, MCAP files) to episodes", tw_import_mcap},
    {NULL, NULL, NULL},
};

int tw_export_lerobot(int argc, char **argv);
int tw_export_robomimic(int argc, char **argv);
const tw_converter tw_exporters[] = {
    {"robomimic", "episodes or a tw fuse output -> robomimic HDF5", tw_export_robomimic},
    {"lerobot", "episodes or a tw fuse output -> LeRobot v3.0 dataset", tw_export_lerobot},
    {"mcap", "an episode to MCAP (ROS 2 CDR, foxglove.CompressedVideo) for Foxglove and Rerun", tw_export_mcap},
    {NULL, NULL, NULL},
};
