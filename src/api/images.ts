/** DescribeImages over the built-in images. */
import type { DescribeImagesRequest, DescribeImagesResult, Image } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId } from '../domain/ids.js';
import { IMAGES, findImage, imageInfo } from '../domain/images.js';
import { paginate } from '../domain/paging.js';
import { type Handler, checkDryRun } from './context.js';

const imageFilters: FilterTable<Image> = {
  fields: {
    'image-id': (i) => i.ImageId,
    name: (i) => i.Name,
    description: (i) => i.Description,
    architecture: (i) => i.Architecture,
    platform: (i) => i.Platform,
    'platform-details': (i) => i.PlatformDetails,
    state: (i) => i.State,
    'owner-id': (i) => i.OwnerId,
    'owner-alias': (i) => i.ImageOwnerAlias,
    'is-public': (i) => i.Public,
    'image-type': (i) => i.ImageType,
    'root-device-type': (i) => i.RootDeviceType,
    'root-device-name': (i) => i.RootDeviceName,
    'virtualization-type': (i) => i.VirtualizationType,
    hypervisor: (i) => i.Hypervisor,
    'boot-mode': (i) => i.BootMode,
    'ena-support': (i) => i.EnaSupport,
    'creation-date': (i) => i.CreationDate,
  },
};

const ALL_IMAGES: readonly Image[] = IMAGES.map(imageInfo);

export const describeImages: Handler<DescribeImagesRequest, DescribeImagesResult> = (input) => {
  const ids = input.ImageIds ?? [];
  for (const id of ids) if (!isWellFormedId('image', id)) throw Errors.amiIdMalformed(id);
  const missing = ids.filter((id) => !findImage(id));
  if (missing.length > 0) throw Errors.amiIdNotFound(missing);
  const predicate = compileFilters(imageFilters, input.Filters);
  checkDryRun(input);
  // Built-in images are Amazon's public images: they match the owners amazon and all, never self.
  const owners = input.Owners ?? [];
  const ownerOk = (i: Image) =>
    owners.length === 0 || owners.some((o) => o === 'amazon' || o === 'all' || o === i.OwnerId);
  const candidates = ids.length > 0 ? ALL_IMAGES.filter((i) => ids.includes(i.ImageId!)) : ALL_IMAGES;
  const matching = candidates.filter((i) => ownerOk(i) && predicate(i));
  const page = paginate(matching, input, { min: 5, max: 1000 }, { f: input.Filters, ids, owners });
  return { Images: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
